#!/usr/bin/env python3
"""Syslog lines on stdin ("Nov 26 14:00:00 mailsrv sm-mta[1234]: MESSAGE") to journal export
format on stdout, for systemd-journal-remote: identifier and pid from the tag, the rest is the
message; the stamp is replaced by entries a millisecond apart from 2026-11-24T00:00:00Z.
Used by benches/relay_report_journal.sh and benches/relay_report.sh (JOURNAL_MB)."""
import sys

t = 1795996800 * 10**6
out = sys.stdout.buffer
for i, line in enumerate(sys.stdin.buffer):
    rest = line.rstrip(b"\n").split(b" ", 4)[-1]
    tag, _, msg = rest.partition(b": ")
    ident, _, pid = tag.partition(b"[")
    out.write(
        b"__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=0123456789abcdef0123456789abcdef\n"
        b"_HOSTNAME=mailsrv\nSYSLOG_IDENTIFIER=%s\n_PID=%s\nSYSLOG_FACILITY=2\nPRIORITY=6\nMESSAGE=%s\n\n"
        % (t + i * 1000, i * 1000 + 1, ident, pid.rstrip(b"]"), msg)
    )
