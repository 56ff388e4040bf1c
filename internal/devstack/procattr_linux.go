package devstack

import "syscall"

// sysProcAttr puts the child in its own process group (so a terminal's
// Ctrl-C reaches only us) and asks the kernel to send it deathSig when we
// die, so a crashed parent leaves no orphan behind. The kernel applies
// Pdeathsig after the credential change (Go sets it after setuid), so it
// holds for children run as the postgres user too.
//
// Pdeathsig fires when the OS thread that started the child exits, not the
// process; Go only ends threads whose goroutine exits while locked with
// runtime.LockOSThread, so do not start servers from such a goroutine.
func sysProcAttr(cred *syscall.Credential, deathSig syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: deathSig, Credential: cred}
}
