package analysis

import (
	"errors"
)

// WriteReport writes the plots and report.html for one run or two into dir
// and returns the HTML file's path.
func WriteReport(dir string, reps ...*Report) (string, error) {
	return "", errors.New("not yet")
}
