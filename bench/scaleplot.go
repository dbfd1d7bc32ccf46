package bench

import (
	"cmp"
	"image/color"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"raysim/analysis"
)

// paperPerNode is the Ray paper's figure 8b rate per node: 1.8M tasks/s on
// 100 nodes (and over 1M on 60).
const paperPerNode = 18_000

// ScalePlot draws the scale runs' simulated throughput against their node
// count, on log-log axes, next to the Ray paper's figure 8b (18k tasks/s per
// node; its two reported points marked).
func ScalePlot(rs []ScaleResult) (analysis.Figure, error) {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b ScaleResult) int { return cmp.Compare(a.Nodes, b.Nodes) })
	p := plot.New()
	p.Title.Text = "Throughput against cluster size (Ray paper, figure 8b)"
	p.X.Label.Text = "nodes"
	p.Y.Label.Text = "tasks per virtual second"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	var sim, paper plotter.XYs
	for _, r := range rs {
		if r.Nodes <= 0 || r.SimThroughput <= 0 {
			continue
		}
		sim = append(sim, plotter.XY{X: float64(r.Nodes), Y: r.SimThroughput})
		paper = append(paper, plotter.XY{X: float64(r.Nodes), Y: float64(r.Nodes) * paperPerNode})
	}
	if len(sim) > 0 {
		l, pts, err := plotter.NewLinePoints(sim)
		if err != nil {
			return analysis.Figure{}, err
		}
		l.Color, pts.Color = plotutil.Color(0), plotutil.Color(0)
		p.Add(l, pts)
		p.Legend.Add("raysim (default cost profile)", l, pts)
		l2, err := plotter.NewLine(paper)
		if err != nil {
			return analysis.Figure{}, err
		}
		l2.Color = color.Gray{Y: 110}
		l2.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		p.Add(l2)
		p.Legend.Add("the paper's 18k tasks/s per node", l2)
	}
	reported, err := plotter.NewScatter(plotter.XYs{{X: 60, Y: 1_000_000}, {X: 100, Y: 1_800_000}})
	if err != nil {
		return analysis.Figure{}, err
	}
	reported.GlyphStyle.Color = color.Black
	reported.GlyphStyle.Shape = plotutil.Shape(1)
	p.Add(reported)
	p.Legend.Add("the paper's reported points", reported)
	return analysis.Render("scale-throughput", p)
}
