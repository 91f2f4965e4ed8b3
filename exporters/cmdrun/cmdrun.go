// Package cmdrun runs external tools for the collectors: argv only (never a
// shell), under a deadline, with LC_ALL=C and a controlled environment.
package cmdrun

import "context"

// Runner runs one command and returns its standard output. A non-zero exit
// is returned as an *ExitError carrying the output, because several tools
// (smartctl, restic check) report through their exit status.
type Runner interface {
	Run(ctx context.Context, argv []string, env []string) ([]byte, error)
}
