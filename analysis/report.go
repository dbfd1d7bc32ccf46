package analysis

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"raysim/scenarios"
	"raysim/traces"
)

// WriteReport writes, into dir, every plot as NAME.svg and NAME.png, the
// terminal tables as summary.txt, and report.html: one self-contained page
// (plots inlined as data URIs, no script or style from the network). With
// two reports it is a comparison (B against A). It returns the HTML path.
func WriteReport(dir string, reps ...*Report) (string, error) {
	if len(reps) != 1 && len(reps) != 2 {
		return "", fmt.Errorf("analysis: WriteReport wants one or two reports, got %d", len(reps))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := removeStale(dir); err != nil {
		return "", err
	}
	page := htmlPage{Generated: "raysim analyze"}
	var summary bytes.Buffer
	if len(reps) == 2 {
		figs, err := CompareFigures(reps[0], reps[1])
		if err != nil {
			return "", err
		}
		page.Compare = &htmlCompare{A: reps[0], B: reps[1], Metrics: Compare(reps[0], reps[1]), Figures: figs}
		page.Title = fmt.Sprintf("raysim: %s vs %s", reps[0].Name, reps[1].Name)
		if err := WriteCompare(&summary, reps[0], reps[1]); err != nil {
			return "", err
		}
		if err := writeFigures(dir, "", figs); err != nil {
			return "", err
		}
	} else {
		page.Title = "raysim: " + reps[0].Name
	}
	for i, r := range reps {
		figs, err := Figures(r)
		if err != nil {
			return "", err
		}
		prefix := ""
		label := ""
		if len(reps) == 2 {
			prefix = string(rune('a'+i)) + "-"
			label = string(rune('A' + i))
		}
		if err := writeFigures(dir, prefix, figs); err != nil {
			return "", err
		}
		page.Runs = append(page.Runs, htmlRun{Label: label, R: r, Figures: figs})
		if len(reps) == 1 {
			if err := WriteText(&summary, r); err != nil {
				return "", err
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.txt"), summary.Bytes(), 0o644); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, page); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "report.html")
	return path, os.WriteFile(path, buf.Bytes(), 0o644)
}

// figureStems are the file stems WriteReport can write: Figures' (alone,
// or prefixed a- and b- in a comparison) and CompareFigures'.
var figureStems = []string{
	"throughput", "latency-cdf", "latency-time", "utilization", "transfers",
	"compare-throughput", "compare-latency-cdf", "compare-transfers",
}

// removeStale deletes the plots an earlier report left in dir (a
// comparison's a-*.png beside a later single run's), and nothing else: a
// report directory holds only this report's files.
func removeStale(dir string) error {
	for _, stem := range figureStems {
		for _, prefix := range []string{"", "a-", "b-"} {
			for _, ext := range []string{".svg", ".png"} {
				err := os.Remove(filepath.Join(dir, prefix+stem+ext))
				if err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("analysis: clearing %s: %w", dir, err)
				}
			}
		}
	}
	return nil
}

func writeFigures(dir, prefix string, figs []Figure) error {
	for _, f := range figs {
		if err := os.WriteFile(filepath.Join(dir, prefix+f.Name+".svg"), f.SVG, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, prefix+f.Name+".png"), f.PNG, 0o644); err != nil {
			return err
		}
	}
	return nil
}

type htmlPage struct {
	Title     string
	Generated string
	Compare   *htmlCompare
	Runs      []htmlRun
}

type htmlCompare struct {
	A, B    *Report
	Metrics []Metric
	Figures []Figure
}

type htmlRun struct {
	Label   string
	R       *Report
	Figures []Figure
}

func (r htmlRun) Fig(name string) *Figure {
	for i := range r.Figures {
		if r.Figures[i].Name == name {
			return &r.Figures[i]
		}
	}
	return nil
}

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"svgURI": func(b []byte) template.URL {
		return template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(b))
	},
	"pngURI": func(b []byte) template.URL {
		return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b))
	},
	"ms":        ms,
	"bytes":     func(n int64) string { return bytesStr(float64(n)) },
	"pct":       func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
	"pctOf":     func(n, a, b, c, d uint64) string { return fmt.Sprintf("%.1f%%", pct(n, a+b+c+d)) },
	"round":     func(d time.Duration) time.Duration { return d.Round(time.Microsecond) },
	"rate":      scenarios.FormatNumber,
	"add":       func(a, b int) int { return a + b },
	"lat":       func(name string, p Percentiles) latRow { return latRow{name, p} },
	"otherJobs": traces.OtherJobsWarning,
}).Parse(pageHTML))

// latRow is a latency table row of the page: a phase's name and numbers.
type latRow struct {
	Name string
	P    Percentiles
}

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; } h3 { margin-top: 1.5em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f4f4f4; } td.l, th.l { text-align: left; }
tr.better td { background: #e3f6e3; } tr.worse td { background: #fbe2e2; } tr.diff td { background: #fff6d6; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .85em; color: #555; }
.note { color: #555; font-size: .9em; }
code { background: #f4f4f4; padding: 0 3px; }
</style>
</head>
<body>
<div id="raysim-report" data-runs="{{len .Runs}}">
<h1>{{.Title}}</h1>
<p class="note">Generated by <code>{{.Generated}}</code>. docs/analysis.md explains each section.</p>
{{with .Compare}}
<h2 id="comparison">Comparison: B against A</h2>
<table>
<tr><th></th><th class="l">trace</th><th class="l">scenario</th><th>seed</th><th class="l">policy</th><th class="l">transport</th><th class="l">digest</th></tr>
<tr><td class="l">A</td><td class="l">{{.A.Name}}</td><td class="l">{{.A.Scenario}}</td><td>{{.A.Seed}}</td><td class="l">{{.A.Policy}}</td><td class="l">{{.A.Transport}}</td><td class="l">{{.A.Digest}}</td></tr>
<tr><td class="l">B</td><td class="l">{{.B.Name}}</td><td class="l">{{.B.Scenario}}</td><td>{{.B.Seed}}</td><td class="l">{{.B.Policy}}</td><td class="l">{{.B.Transport}}</td><td class="l">{{.B.Digest}}</td></tr>
</table>
<p class="note">Rows that differ by 10% or more are highlighted: green where B is better, red where it is worse, yellow where neither direction is better. One run per side (one seed each) cannot tell a difference from seed noise: two seeds of the same scenario differ by 10% or more on many rows. Compare distributions over seeds (<code>raysim sweep SCENARIO --seeds 1-8 --all</code> for each side) before calling B better or worse.</p>
<table id="compare-table">
<tr><th class="l">section</th><th class="l">metric</th><th>A</th><th>B</th><th>B vs A</th><th class="l">verdict</th></tr>
{{range .Metrics}}<tr class="{{if .Significant}}{{with .Verdict}}{{.}}{{else}}diff{{end}}{{end}}"><td class="l">{{.Section}}</td><td class="l">{{.Name}}</td><td>{{.TextA}}</td><td>{{.TextB}}</td><td>{{.DeltaText}}</td><td class="l">{{.Verdict}}</td></tr>
{{end}}</table>
{{range .Figures}}<figure><img class="plot" alt="{{.Title}}" src="{{svgURI .SVG}}"><figcaption>{{.Title}} — <a download="{{.Name}}.png" href="{{pngURI .PNG}}">PNG</a></figcaption></figure>
{{end}}
{{end}}
{{range .Runs}}{{$run := .}}{{with .R}}
<h2 id="run{{$run.Label}}">{{with $run.Label}}Run {{.}}: {{end}}{{.Name}}</h2>
<table>
<tr><th class="l">scenario</th><td class="l">{{.Scenario}} ({{.File}})</td></tr>
{{with .ScenarioErr}}<tr id="scenario-error"><th class="l">scenario error</th><td class="l">the header's scenario cannot be read (nodes named by ID, their CPUs unknown): {{.}}</td></tr>
{{end}}<tr><th class="l">seed / policy / transport</th><td class="l">{{.Seed}} / {{.Policy}} / {{.Transport}} (raysim {{.Version}})</td></tr>
{{with .Variant}}<tr id="variant"><th class="l">variant</th><td class="l">{{.}}</td></tr>
{{end}}{{with .OtherJobsEvents}}<tr id="other-jobs"><th class="l">warning</th><td class="l">{{otherJobs .}}</td></tr>
{{end}}<tr><th class="l">trace</th><td class="l">{{.Records}} records over {{.End}} {{.Clock}}; digest {{.Digest}}</td></tr>
<tr><th class="l">tasks</th><td class="l">{{.Tasks.Submitted}} submitted, {{.Tasks.Completed}} completed (incl. {{.Tasks.ActorsCreated}} actor creations), {{.Tasks.Failed}} failed, {{.Tasks.Retried}} retried, {{.Tasks.Cancelled}} cancelled, {{.Tasks.Infeasible}} infeasible</td></tr>
{{if .Tasks.Unfinished}}<tr id="unfinished"><th class="l">unfinished</th><td class="l">{{.Tasks.Unfinished}} tasks never ended: the trace ended before they did (the longest had waited {{.Tasks.Waited}}); the latencies below leave them out</td></tr>
{{end}}<tr><th class="l">objects</th><td class="l">{{.Tasks.ObjectsLost}} lost, {{.Tasks.ObjectsReconstructed}} reconstructed;{{if or .Tasks.ObjectsSpilled .Tasks.ObjectsRestored}} {{.Tasks.ObjectsSpilled}} spilled ({{bytes .Tasks.BytesSpilled}} written), {{.Tasks.ObjectsRestored}} restored ({{bytes .Tasks.BytesRestored}} read);{{end}} actors restarted {{.Tasks.ActorsRestarted}}, died {{.Tasks.ActorsDied}}{{if .Tasks.MethodsReplayed}}, methods replayed {{.Tasks.MethodsReplayed}}{{end}}</td></tr>
</table>

<h3>Throughput</h3>
<p>Mean {{rate .MeanThroughput}} tasks/s, peak {{rate .PeakThroughput}} tasks/s (bins of {{.Throughput.Bin}}). Dashed lines: faults (red) and restarts/heals (green).</p>
{{with $run.Fig "throughput"}}<figure><img class="plot" alt="{{.Title}}" src="{{svgURI .SVG}}"><figcaption>{{.Title}} — <a download="{{.Name}}.png" href="{{pngURI .PNG}}">PNG</a></figcaption></figure>{{end}}

<h3>Task latency</h3>
<p>Submission to first completion. For each task, total = queue + arg fetch + execution; scheduling is the part of queueing before a raylet accepted the task.</p>
<table class="latency">
<tr><th class="l">phase (ms)</th><th>n</th><th>mean</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>
{{with .Latency.Phase}}
{{template "latrow" lat "total" .Total}}
{{template "latrow" lat "queue" .Queue}}
{{template "latrow" lat "\u00a0\u00a0of which scheduling" .Sched}}
{{template "latrow" lat "arg fetch" .Fetch}}
{{template "latrow" lat "execution" .Exec}}
{{end}}
</table>
{{with $run.Fig "latency-cdf"}}<figure><img class="plot" alt="{{.Title}}" src="{{svgURI .SVG}}"><figcaption>{{.Title}} — <a download="{{.Name}}.png" href="{{pngURI .PNG}}">PNG</a></figcaption></figure>{{end}}
{{with $run.Fig "latency-time"}}<figure><img class="plot" alt="{{.Title}}" src="{{svgURI .SVG}}"><figcaption>{{.Title}} — <a download="{{.Name}}.png" href="{{pngURI .PNG}}">PNG</a></figcaption></figure>{{end}}
<table>
<tr><th class="l">function</th><th>n</th><th>p50 (ms)</th><th>p99 (ms)</th><th>exec p50 (ms)</th></tr>
{{range .Functions}}<tr><td class="l">{{.Func}}</td><td>{{.Latency.N}}</td><td>{{ms .Latency.P50}}</td><td>{{ms .Latency.P99}}</td><td>{{ms .Exec.P50}}</td></tr>
{{end}}</table>

<h3>Nodes</h3>
<p>Utilization: the CPU-seconds the running tasks asked for divided by CPUs × {{.End}} (other resources likewise, by their capacity); busy: worker-time spent running tasks.</p>
<table>
<tr><th class="l">node</th><th>CPUs</th><th>executed</th><th>busy</th><th>utilization</th><th>other resources</th><th>owned</th><th>local</th><th>spilled</th><th>bytes in</th><th>bytes out</th><th>node.dead</th></tr>
{{range .Nodes}}{{if not .Idle}}<tr><td class="l">{{.Name}}</td><td>{{.CPUs}}</td><td>{{.Executed}}</td><td>{{round .BusyTime}}</td><td>{{if .NoCPUs}}-{{else}}{{pct .Utilization}}{{end}}</td><td>{{.OtherText}}</td><td>{{.Owned}}</td><td>{{.Local}}</td><td>{{.Spilled}}</td><td>{{bytes .BytesIn}}</td><td>{{bytes .BytesOut}}</td><td>{{.Dead}}</td></tr>{{end}}
{{end}}</table>
{{with $run.Fig "utilization"}}<figure><img class="plot" alt="{{.Title}}" src="{{svgURI .SVG}}"><figcaption>{{.Title}} — <a download="{{.Name}}.png" href="{{pngURI .PNG}}">PNG</a></figcaption></figure>{{end}}

<h3>Placement</h3>
{{with .Placement}}
<table>
<tr><th class="l">first placement</th><th>tasks</th><th>share</th></tr>
<tr><td class="l">local</td><td>{{.Local}}</td><td>{{pctOf .Local .Local .Spilled .Actor .Other}}</td></tr>
<tr><td class="l">spilled to the global scheduler</td><td>{{.Spilled}}</td><td>{{pctOf .Spilled .Local .Spilled .Actor .Other}}</td></tr>
<tr><td class="l">actor method</td><td>{{.Actor}}</td><td>{{pctOf .Actor .Local .Spilled .Actor .Other}}</td></tr>
{{if .Other}}<tr><td class="l">other</td><td>{{.Other}}</td><td>{{pctOf .Other .Local .Spilled .Actor .Other}}</td></tr>{{end}}
{{if .Unplaced}}<tr><td class="l">never placed (cancelled, infeasible or unfinished first)</td><td>{{.Unplaced}}</td><td></td></tr>{{end}}
</table>
<table>
<tr><th class="l">accepted by reason</th><th>count</th></tr>
{{range .Decisions}}<tr><td class="l">{{.Name}}</td><td>{{.Count}}</td></tr>
{{end}}</table>
{{end}}

<h3>Object transfers and locality</h3>
{{with .Transfers}}
<p>{{.Count}} transfers, {{bytes .Bytes}}. Of {{.Accepted}} accepted task attempts, {{.Fetched}} fetched an argument from another node and {{.WaitedLocal}} (fetching none) waited for a producer on their own node: locality hit rate {{if .Accepted}}{{pct .LocalityRatio}}{{else}}- (no task accepted){{end}}{{if .Approximate}} (approximate: the trace has no task.arg events, see docs/analysis.md){{end}}.</p>
{{if not .Approximate}}<p>By-reference arguments: {{.Args}} — {{.ArgsLocal}} local at acceptance, {{.ArgsProducedHere}} produced on the same node later, {{.ArgsFetched}} fetched from another node, {{.ArgsPending}} never arrived; {{if or .ArgsLocal .ArgsFetched .ArgsProducedHere}}{{pct .ArgLocality}} crossed no link{{else}}none resolved, so no share crossed a link or not{{end}}.</p>{{end}}
{{end}}
{{with $run.Fig "transfers"}}<figure><img class="plot" alt="{{.Title}}" src="{{svgURI .SVG}}"><figcaption>{{.Title}} — <a download="{{.Name}}.png" href="{{pngURI .PNG}}">PNG</a></figcaption></figure>{{end}}
{{$r := .}}
<table>
<tr><th class="l">from</th><th class="l">to</th><th>transfers</th><th>bytes</th></tr>
{{range .Transfers.Links}}<tr><td class="l">{{$r.NodeName .From}}</td><td class="l">{{$r.NodeName .To}}</td><td>{{.Count}}</td><td>{{bytes .Bytes}}</td></tr>
{{end}}</table>

<h3>Faults</h3>
{{if .Faults}}
<table class="faults">
<tr><th>at</th><th class="l">fault</th><th class="l">node</th><th class="l">detail</th><th>detected after</th><th>baseline (tasks/s)</th><th>dip (tasks/s)</th><th>throughput recovered after</th></tr>
{{range .Faults}}<tr><td>{{round .At}}</td><td class="l">{{.Kind}}</td><td class="l">{{$r.NodeName .Node}}</td><td class="l">{{$r.FaultDetail .}}</td><td>{{.DetectText}}</td><td>{{.BaselineText}}</td><td>{{.DipText}}</td><td>{{.RecoverText}}</td></tr>
{{end}}</table>
{{else}}<p>No faults injected.</p>{{end}}

<h3>Critical path</h3>
{{with .CriticalPath}}
<p>The dependency chain with the most execution and argument-fetch time: {{len .Tasks}} tasks over {{.Span}} = queue {{.Queue}} + arg fetch {{.Fetch}} + execution {{.Exec}} (the run: {{.EndToEnd}} end to end). {{.Edges}} dependency edges {{if .Inferred}}were inferred from the trace (it has no task.arg events){{else}}come from the tasks' arguments (task.arg){{end}}; the deepest chain has {{.Depth}} tasks.</p>
<table>
<tr><th>#</th><th class="l">task</th><th class="l">function</th><th class="l">node</th><th>submitted (ms)</th><th>queue (ms)</th><th>arg fetch (ms)</th><th>execution (ms)</th></tr>
{{range $i, $t := .Tasks}}<tr><td>{{add $i 1}}</td><td class="l">{{$t.Task}}</td><td class="l">{{$t.Func}}</td><td class="l">{{$r.NodeName $t.Node}}</td><td>{{ms $t.Submit}}</td><td>{{ms $t.Queue}}</td><td>{{ms $t.Fetch}}</td><td>{{ms $t.Exec}}</td></tr>
{{end}}</table>
{{end}}
{{end}}{{end}}
</div>
<p id="load-status" class="note"></p>
<script>
// A self-check for headless browsers (the test suite): every plot decoded.
window.addEventListener("load", function () {
  var imgs = document.querySelectorAll("img.plot"), ok = 0;
  for (var i = 0; i < imgs.length; i++) { if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++; }
  var s = document.getElementById("load-status");
  s.setAttribute("data-images", imgs.length);
  s.setAttribute("data-decoded", ok);
  s.textContent = ok + " of " + imgs.length + " plots rendered";
});
</script>
</body>
</html>
{{define "latrow"}}<tr><td class="l">{{.Name}}</td>{{with .P}}<td>{{.N}}</td>{{if .N}}<td>{{ms .Mean}}</td><td>{{ms .P50}}</td><td>{{ms .P90}}</td><td>{{ms .P99}}</td><td>{{ms .Max}}</td>{{else}}<td>-</td><td>-</td><td>-</td><td>-</td><td>-</td>{{end}}{{end}}</tr>{{end}}`
