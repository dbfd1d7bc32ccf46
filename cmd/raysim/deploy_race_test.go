//go:build race

package main

// Under go test -race the cluster's processes are race-checked too.
func init() { raceBuild = true }
