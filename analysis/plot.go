package analysis

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Figure is one rendered plot in both formats.
type Figure struct {
	Name  string // file stem: throughput, latency-cdf, ...
	Title string
	SVG   []byte
	PNG   []byte
}

const (
	figW = 7 * vg.Inch
	figH = 3.2 * vg.Inch
)

// Render draws p as SVG and PNG at the reports' size; name is the file stem.
func Render(name string, p *plot.Plot) (Figure, error) {
	settleAxes(p)
	f := Figure{Name: name, Title: p.Title.Text}
	for _, format := range []string{"svg", "png"} {
		wt, err := p.WriterTo(figW, figH, format)
		if err != nil {
			return f, fmt.Errorf("plot %s: %w", name, err)
		}
		var buf bytes.Buffer
		if _, err := wt.WriteTo(&buf); err != nil {
			return f, fmt.Errorf("plot %s: %w", name, err)
		}
		if format == "svg" {
			f.SVG = buf.Bytes()
		} else {
			f.PNG = buf.Bytes()
		}
	}
	return f, nil
}

// timeAxis labels a time axis by the runs' clock (Report.Clock): "virtual
// time (s)" for simulated runs, "wall clock time (s)" for TCP or live ones;
// runs on different clocks are named each.
func timeAxis(rs ...*Report) string {
	c := rs[0].Clock()
	for _, r := range rs[1:] {
		if r.Clock() != c {
			var each []string
			for i, r := range rs {
				each = append(each, string(rune('A'+i))+" "+r.Clock())
			}
			return "time (s; " + strings.Join(each, ", ") + ")"
		}
	}
	return c + " time (s)"
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	return p
}

// seriesXY is a binned series as (the middle of the time the bin covers,
// in seconds; value * scale).
func seriesXY(s Series, scale float64) plotter.XYs {
	xy := make(plotter.XYs, len(s.Values))
	for i, v := range s.Values {
		xy[i].X = (s.At(i) + s.Width(i)/2).Seconds()
		xy[i].Y = v * scale
	}
	return xy
}

// perSecond is a series of amounts per bin (Transfers.Over: bytes) as
// amounts per second of the time each bin covers, times scale.
func perSecond(s Series, scale float64) plotter.XYs {
	xy := seriesXY(s, scale)
	for i := range xy {
		if w := s.Width(i); w > 0 {
			xy[i].Y /= w.Seconds()
		} else {
			xy[i].Y = 0
		}
	}
	return xy
}

func addLine(p *plot.Plot, label string, xy plotter.XYs, i int, dashed bool) error {
	l, err := plotter.NewLine(xy)
	if err != nil {
		return err
	}
	l.Color = plotutil.Color(i)
	l.Width = vg.Points(1.3)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
	}
	p.Add(l)
	if label != "" {
		p.Legend.Add(label, l)
	}
	return nil
}

// faultLines marks each fault with a vertical line at its time. Labels of
// faults close in time are stepped down, so they do not print over each
// other.
func faultLines(p *plot.Plot, r *Report, top float64, labelled bool) error {
	span := (time.Duration(len(r.Throughput.Values)) * r.Throughput.Bin).Seconds()
	lastX, step := math.Inf(-1), 0
	for _, f := range r.Faults {
		l, err := plotter.NewLine(plotter.XYs{{X: f.At.Seconds(), Y: 0}, {X: f.At.Seconds(), Y: top}})
		if err != nil {
			return err
		}
		l.Color = color.RGBA{R: 200, A: 255}
		if f.Kind == "restart" || f.Kind == "heal" {
			l.Color = color.RGBA{G: 140, A: 255}
		}
		l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(l)
		if f.Ended != 0 && (f.Kind == "degrade" || f.Kind == "partition") {
			// Its end (a restore, a partition's own heal) has no row: a
			// green line, as a restart's or heal's.
			e, err := plotter.NewLine(plotter.XYs{{X: f.Ended.Seconds(), Y: 0}, {X: f.Ended.Seconds(), Y: top}})
			if err != nil {
				return err
			}
			e.Color, e.Dashes = color.RGBA{G: 140, A: 255}, l.Dashes
			p.Add(e)
		}
		if labelled {
			x := f.At.Seconds()
			if x-lastX < span/8 {
				step++
			} else {
				step = 0
			}
			lastX = x
			y := top * (1 - 0.07*float64(step%6))
			lbl, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: x, Y: y}},
				Labels: []string{" " + r.FaultLabel(f)}})
			if err != nil {
				return err
			}
			p.Add(lbl)
		}
	}
	return nil
}

func peak(vs ...[]float64) float64 {
	var hi float64
	for _, v := range vs {
		for _, x := range v {
			hi = max(hi, x)
		}
	}
	return hi
}

// cdfXY is the empirical CDF of ds in milliseconds, drawn as the step
// function it is: from 0 below the smallest latency, up by 1/n at each
// (a line between the points would show latencies no task had, which
// matters for a few tasks).
func cdfXY(ds []time.Duration) plotter.XYs {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	// At most 200 steps (400 points): enough for a smooth curve, small
	// SVGs.
	step := max((n+199)/200, 1)
	var xy plotter.XYs
	below := 0.0 // the fraction of tasks faster than the point
	for i := 0; i < n; i += step {
		j := min(i+step, n) - 1 // the last of this step's tasks
		x := msf(s[j])
		xy = append(xy, plotter.XY{X: x, Y: below}, plotter.XY{X: x, Y: float64(j+1) / float64(n)})
		below = float64(j+1) / float64(n)
	}
	return xy
}

// settleAxes gives a plot axes that show its data: a plot with no data
// (a run with no task) gets 0..1 and "no data" in its title, not gonum's
// -1..1; a single value (one task's latency) a range from 0 to just past
// it, not an empty frame that ends before it.
func settleAxes(p *plot.Plot) {
	empty := false
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		switch {
		case ax.Min > ax.Max || math.IsInf(ax.Min, 0) || math.IsInf(ax.Max, 0):
			ax.Min, ax.Max = 0, 1
			empty = true
		case ax.Min == ax.Max:
			switch v := ax.Min; {
			case v > 0:
				ax.Min, ax.Max = 0, v*1.05
			case v < 0:
				ax.Min, ax.Max = v*1.05, 0
			default:
				ax.Max = 1
			}
		}
	}
	if empty && !strings.HasSuffix(p.Title.Text, "(no data)") {
		p.Title.Text += " (no data)"
	}
}

func phase(r *Report, pick func(TaskPhases) time.Duration) []time.Duration {
	out := make([]time.Duration, len(r.Latency.Split))
	for i, p := range r.Latency.Split {
		out[i] = pick(p)
	}
	return out
}

var phases = []struct {
	name string
	pick func(TaskPhases) time.Duration
}{
	{"total", func(p TaskPhases) time.Duration { return p.Total }},
	{"queue", func(p TaskPhases) time.Duration { return p.Queue }},
	{"arg fetch", func(p TaskPhases) time.Duration { return p.Fetch }},
	{"execution", func(p TaskPhases) time.Duration { return p.Exec }},
}

// Figures renders the plots of one run.
func Figures(r *Report) ([]Figure, error) {
	var figs []Figure
	add := func(name string, p *plot.Plot, err error) error {
		if err != nil {
			return err
		}
		f, err := Render(name, p)
		figs = append(figs, f)
		return err
	}
	if err := add(throughputPlot(r)); err != nil {
		return nil, err
	}
	if err := add(latencyPlot(r)); err != nil {
		return nil, err
	}
	if err := add(latencyTimePlot(r)); err != nil {
		return nil, err
	}
	if err := add(utilizationPlot(r)); err != nil {
		return nil, err
	}
	if err := add(transferPlot(r)); err != nil {
		return nil, err
	}
	return figs, nil
}

func throughputPlot(r *Report) (string, *plot.Plot, error) {
	p := newPlot("Throughput (task completions per second)", timeAxis(r), "tasks/s")
	if err := addLine(p, fmt.Sprintf("bins of %v", r.Throughput.Bin), seriesXY(r.Throughput, 1), 0, false); err != nil {
		return "", nil, err
	}
	if err := faultLines(p, r, peak(r.Throughput.Values)*1.05, true); err != nil {
		return "", nil, err
	}
	p.Y.Min = 0
	return "throughput", p, nil
}

func latencyPlot(r *Report) (string, *plot.Plot, error) {
	p := newPlot("Task latency CDF, split by phase", "latency (ms)", "fraction of tasks")
	p.Legend.Left, p.Legend.Top = false, false
	cdfs := make([]plotter.XYs, len(phases))
	for i, ph := range phases {
		cdfs[i] = cdfXY(phase(r, ph.pick))
	}
	logLatency(p, cdfs...)
	for i, ph := range phases {
		if err := addLine(p, ph.name, cdfs[i], i, false); err != nil {
			return "", nil, err
		}
	}
	p.Y.Min, p.Y.Max = 0, 1
	return "latency-cdf", p, nil
}

// latencyTimePlot is each task's latency against its submission time, the
// faults marked: where a fault's delay shows (the Ray paper's figure 10a).
// At most ~5000 tasks are drawn, evenly sampled in submission order.
func latencyTimePlot(r *Report) (string, *plot.Plot, error) {
	p := newPlot("Task latency by submission time", "submission ("+r.Clock()+" s)", "latency (ms)")
	split := slices.Clone(r.Latency.Split)
	slices.SortStableFunc(split, func(a, b TaskPhases) int { return cmp.Compare(a.Submit, b.Submit) })
	step := max(len(split)/5000, 1)
	var xy plotter.XYs
	top := 0.0
	for i := 0; i < len(split); i += step {
		xy = append(xy, plotter.XY{X: split[i].Submit.Seconds(), Y: msf(split[i].Total)})
		top = max(top, msf(split[i].Total))
	}
	for _, t := range split { // the worst task is always drawn
		if msf(t.Total) > top {
			top = msf(t.Total)
			xy = append(xy, plotter.XY{X: t.Submit.Seconds(), Y: top})
		}
	}
	if len(xy) > 0 {
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return "", nil, err
		}
		s.GlyphStyle.Color = plotutil.Color(0)
		s.GlyphStyle.Radius = vg.Points(1)
		p.Add(s)
	}
	if err := faultLines(p, r, top*1.05, true); err != nil {
		return "", nil, err
	}
	p.Y.Min = 0
	return "latency-time", p, nil
}

// logLatency puts latency CDFs on a logarithmic axis when they span more
// than two orders of magnitude (a linear axis then squeezes the fast tasks
// into one line at zero); latencies below the smallest positive one (a
// phase that took no time) are drawn at it.
func logLatency(p *plot.Plot, cdfs ...plotter.XYs) {
	lo, hi := math.Inf(1), 0.0
	for _, xy := range cdfs {
		for _, pt := range xy {
			if pt.X > 0 {
				lo = min(lo, pt.X)
			}
			hi = max(hi, pt.X)
		}
	}
	if hi <= 0 || math.IsInf(lo, 1) || hi/lo < 100 {
		return
	}
	for _, xy := range cdfs {
		for i := range xy {
			xy[i].X = max(xy[i].X, lo)
		}
	}
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.X.Label.Text += ", log scale"
}

func utilizationPlot(r *Report) (string, *plot.Plot, error) {
	p := newPlot("Per-node CPU utilization (CPUs the running tasks asked for / CPUs)", timeAxis(r), "utilization (%)")
	var top float64 = 100
	for i, n := range r.Nodes {
		if n.NoCPUs {
			continue // no CPUs to share out: not a utilization
		}
		if err := addLine(p, n.Name, seriesXY(n.Busy, 100), i, false); err != nil {
			return "", nil, err
		}
		top = max(top, peak(n.Busy.Values)*100)
	}
	if err := faultLines(p, r, top, false); err != nil {
		return "", nil, err
	}
	p.Y.Min = 0
	p.Legend.Left = true
	return "utilization", p, nil
}

func transferPlot(r *Report) (string, *plot.Plot, error) {
	p := newPlot("Object transfer volume", timeAxis(r), "KiB per second")
	if err := addLine(p, fmt.Sprintf("%d transfers, %s", r.Transfers.Count, bytesStr(float64(r.Transfers.Bytes))),
		perSecond(r.Transfers.Over, 1.0/1024), 2, false); err != nil {
		return "", nil, err
	}
	p.Y.Min = 0
	return "transfers", p, nil
}

// CompareFigures renders two runs overlaid: A solid, B dashed.
func CompareFigures(a, b *Report) ([]Figure, error) {
	var figs []Figure
	la, lb := "A: "+a.Name, "B: "+b.Name

	p := newPlot("Throughput: A (solid) vs B (dashed)", timeAxis(a, b), "tasks/s")
	if err := addLine(p, la, seriesXY(a.Throughput, 1), 0, false); err != nil {
		return nil, err
	}
	if err := addLine(p, lb, seriesXY(b.Throughput, 1), 1, true); err != nil {
		return nil, err
	}
	p.Y.Min = 0
	f, err := Render("compare-throughput", p)
	if err != nil {
		return nil, err
	}
	figs = append(figs, f)

	p = newPlot("Task latency CDF: A (solid) vs B (dashed)", "latency (ms)", "fraction of tasks")
	p.Legend.Top = false
	shown := []int{0, 3} // total and execution
	var cdfs []plotter.XYs
	for _, ph := range shown {
		cdfs = append(cdfs, cdfXY(phase(a, phases[ph].pick)), cdfXY(phase(b, phases[ph].pick)))
	}
	logLatency(p, cdfs...)
	for i, ph := range shown {
		if err := addLine(p, "A "+phases[ph].name, cdfs[2*i], i, false); err != nil {
			return nil, err
		}
		if err := addLine(p, "B "+phases[ph].name, cdfs[2*i+1], i, true); err != nil {
			return nil, err
		}
	}
	p.Y.Min, p.Y.Max = 0, 1
	f, err = Render("compare-latency-cdf", p)
	if err != nil {
		return nil, err
	}
	figs = append(figs, f)

	p = newPlot("Object transfer volume: A (solid) vs B (dashed)", timeAxis(a, b), "KiB per second")
	if err := addLine(p, la, perSecond(a.Transfers.Over, 1.0/1024), 0, false); err != nil {
		return nil, err
	}
	if err := addLine(p, lb, perSecond(b.Transfers.Over, 1.0/1024), 1, true); err != nil {
		return nil, err
	}
	p.Y.Min = 0
	f, err = Render("compare-transfers", p)
	if err != nil {
		return nil, err
	}
	figs = append(figs, f)
	return figs, nil
}
