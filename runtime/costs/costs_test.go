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
