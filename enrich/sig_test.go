package enrich

import "syscall"

var sigterm = syscall.SIGTERM
