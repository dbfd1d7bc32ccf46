package bench

import (
	"cmp"
	"image/color"
	"math"
	"slices"
	"strconv"

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
// node; its two reported points marked): the raylets' rate (drivers done)
// and the rate with the GCS's work included (until it has recorded every
// task), which flattens when the GCS shards cannot keep up (qa29 #3). The
// y axis is labelled at 1, 2 and 5 of each decade so values can be read.
func ScalePlot(rs []ScaleResult) (analysis.Figure, error) {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b ScaleResult) int { return cmp.Compare(a.Nodes, b.Nodes) })
	p := plot.New()
	p.Title.Text = "Throughput against cluster size (Ray paper, figure 8b)"
	p.X.Label.Text = "nodes"
	p.Y.Label.Text = "tasks per virtual second"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, oneTwoFive{}
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	var sim, gcs, paper plotter.XYs
	for _, r := range rs {
		if r.Nodes <= 0 || r.SimThroughput <= 0 {
			continue
		}
		sim = append(sim, plotter.XY{X: float64(r.Nodes), Y: r.SimThroughput})
		if r.SustainedThroughput > 0 {
			gcs = append(gcs, plotter.XY{X: float64(r.Nodes), Y: r.SustainedThroughput})
		}
		paper = append(paper, plotter.XY{X: float64(r.Nodes), Y: float64(r.Nodes) * paperPerNode})
	}
	if len(sim) > 0 {
		l, pts, err := plotter.NewLinePoints(sim)
		if err != nil {
			return analysis.Figure{}, err
		}
		l.Color, pts.Color = plotutil.Color(0), plotutil.Color(0)
		p.Add(l, pts)
		p.Legend.Add("raysim, raylets (drivers done)", l, pts)
		if len(gcs) > 0 {
			lg, ptsg, err := plotter.NewLinePoints(gcs)
			if err != nil {
				return analysis.Figure{}, err
			}
			lg.Color, ptsg.Color = plotutil.Color(1), plotutil.Color(1)
			ptsg.Shape = plotutil.Shape(2)
			p.Add(lg, ptsg)
			p.Legend.Add("raysim, GCS's work included", lg, ptsg)
		}
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

// oneTwoFive marks a log axis at 1, 2 and 5 of each decade, labelled with
// k/M/G suffixes (plot.LogTicks labels only the powers of ten, one tick
// over 0.5M-7M).
type oneTwoFive struct{}

// Ticks returns the marks between lo and hi.
func (oneTwoFive) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	if lo <= 0 || hi <= lo {
		return out
	}
	for dec := math.Pow(10, math.Floor(math.Log10(lo))); dec <= hi; dec *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if v := m * dec; v >= lo && v <= hi {
				out = append(out, plot.Tick{Value: v, Label: siLabel(v)})
			}
		}
	}
	return out
}

// siLabel is v with a k, M or G suffix (500k, 2M).
func siLabel(v float64) string {
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= u.div {
			return strconv.FormatFloat(v/u.div, 'g', 3, 64) + u.suffix
		}
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
