package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// checkHeadAddress checks a --address value, the head's HOST:PORT, the
// same way for every command that takes one: a malformed address is a bad
// flag (exit 2), refused before anything is tried, not a cluster that
// cannot be reached after a timeout.
func checkHeadAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err == nil && host == "" {
		err = errors.New("no host")
	}
	if err == nil && strings.ContainsAny(host, "/[]@ ") {
		err = errors.New("not a host name or IP address")
	}
	if err == nil {
		if n, perr := strconv.Atoi(port); perr != nil || n < 1 || n > 65535 {
			err = fmt.Errorf("port %q: want 1 to 65535", port)
		}
	}
	if err != nil {
		return fmt.Errorf("want the head's HOST:PORT, e.g. 10.0.0.1:7379 (%v)", err)
	}
	return nil
}

// addressFlag is a --address flag whose value is checked as it is parsed
// (checkHeadAddress): the flag package then reports a malformed one as a
// bad flag, naming it.
type addressFlag struct{ p *string }

func (a addressFlag) String() string {
	if a.p == nil {
		return ""
	}
	return *a.p
}

func (a addressFlag) Set(v string) error {
	if err := checkHeadAddress(v); err != nil {
		return err
	}
	*a.p = v
	return nil
}
