package costs

import (
	"testing"
	"time"
)

func TestOvershoot(t *testing.T) {
	p := Profile{}
	if got := p.Overshoot(1.5); got != 0 {
		t.Errorf("no overshoot in the profile: got %v", got)
	}
	p.ComputeOvershoot = 100 * time.Microsecond
	if got := p.Overshoot(1.5); got != p.ComputeOvershoot {
		t.Errorf("no p90 above the median: a constant, got %v", got)
	}
	p.ComputeOvershootP90 = 300 * time.Microsecond
	if got := p.Overshoot(0); got != 100*time.Microsecond {
		t.Errorf("the median draw: got %v", got)
	}
	if got := p.Overshoot(1.2815515655446004); got < 299*time.Microsecond || got > 301*time.Microsecond {
		t.Errorf("the 90th percentile draw: got %v", got)
	}
}

func TestSpillAndRestoreCosts(t *testing.T) {
	p := Default()
	if got := p.Spill(1 << 20); got != p.SpillPerMB || got <= 0 {
		t.Errorf("a MiB spilled: got %v, want SpillPerMB %v", got, p.SpillPerMB)
	}
	if got := p.Restore(2 << 20); got != 2*p.RestorePerMB || got <= 0 {
		t.Errorf("2 MiB restored: got %v, want 2 x RestorePerMB %v", got, p.RestorePerMB)
	}
	for _, name := range []string{"spill_per_mb", "restore_per_mb"} {
		f, err := p.Field(name)
		if err != nil || *f <= 0 {
			t.Errorf("Field(%q) = %v, %v: want the documented default", name, f, err)
		}
	}
	for _, name := range Names {
		if _, err := p.Field(name); err != nil {
			t.Errorf("Names lists %q, Field refuses it: %v", name, err)
		}
	}
}
