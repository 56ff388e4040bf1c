//go:build unix && !linux

package devstack

import "syscall"

// sysProcAttr puts the child in its own process group, so a terminal's
// Ctrl-C reaches only us. There is no Pdeathsig outside Linux: a parent
// that crashes there leaves its servers running.
func sysProcAttr(cred *syscall.Credential, _ syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}
