package bench

import "context"

type ESResult struct{}
type ESConfig struct{ Name string }

func ESConfigs() []ESConfig                                   { return nil }
func RunES(ctx context.Context, c ESConfig) (ESResult, error) { return ESResult{}, nil }
func FormatES([]ESResult) string                              { return "" }
