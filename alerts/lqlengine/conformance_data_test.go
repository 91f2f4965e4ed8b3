package lqlengine_test

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/hlalert/hlalert/alerts/series"
)

// genEntry is one generated log line of one stream.
type genEntry struct {
	T    time.Time
	Line string
}

type genStream struct {
	Labels  series.Labels
	Entries []genEntry
}

// confSpan is how long the generated data lasts, from the start.
const confSpan = 50 * time.Minute

// generateStreams builds the tier's data: journal-like text from several
// hosts and units (with ANSI colours, IPs, OOM kills, I/O errors, ZFS
// events, SSH failures, restic/borg fatals), logfmt lines of an app (some
// malformed, some with empty values, keys colliding with stream labels),
// JSON lines of an API (nested objects, arrays, malformed lines, keys
// colliding with stream labels), with gaps and bursts. Every line has its
// own nanosecond so merges across streams have no ties.
func generateStreams(start time.Time) []genStream {
	rng := rand.New(rand.NewPCG(42, 7))
	var out []genStream
	nano := 0
	at := func(off time.Duration) time.Time {
		nano++
		return start.Add(off).Add(time.Duration(nano) * time.Nanosecond)
	}
	ips := []string{"10.0.0.5", "10.0.1.17", "192.168.1.20", "172.16.4.2", "2001:db8::1", "fe80::2"}
	users := []string{"root", "admin", "alice", "bob", "git"}

	// journal: job=systemd-journal, host, unit, level
	hosts := []string{"main", "nas", "ha"}
	type unitGen struct {
		unit, level string
		lines       func(i int) string
		every       time.Duration
		gapFrom     time.Duration
		gapTo       time.Duration
	}
	units := []unitGen{
		{"sshd.service", "info", func(i int) string {
			ip := ips[rng.IntN(len(ips))]
			switch rng.IntN(4) {
			case 0:
				return fmt.Sprintf("Accepted publickey for %s from %s port %d ssh2", users[rng.IntN(len(users))], ip, 40000+rng.IntN(20000))
			default:
				return fmt.Sprintf("Failed password for %s from %s port %d ssh2", users[rng.IntN(len(users))], ip, 40000+rng.IntN(20000))
			}
		}, 20 * time.Second, 12 * time.Minute, 20 * time.Minute},
		{"kernel", "warning", func(i int) string {
			switch rng.IntN(5) {
			case 0:
				return fmt.Sprintf("Out of memory: Killed process %d (%s) total-vm:%dkB", 1000+rng.IntN(9000), []string{"java", "postgres", "frigate"}[rng.IntN(3)], 100000+rng.IntN(900000))
			case 1:
				return fmt.Sprintf("blk_update_request: I/O error, dev sd%c, sector %d op 0x0:(READ)", 'a'+rune(rng.IntN(3)), rng.IntN(1<<30))
			case 2:
				return fmt.Sprintf("\x1b[31mEXT4-fs error\x1b[0m (device sd%c1): inode %d", 'a'+rune(rng.IntN(3)), rng.IntN(100000))
			default:
				return fmt.Sprintf("audit: type=1400 apparmor=\"ALLOWED\" pid=%d comm=\"%s\"", rng.IntN(60000), []string{"nginx", "sshd"}[rng.IntN(2)])
			}
		}, 45 * time.Second, 30 * time.Minute, 38 * time.Minute},
		{"zfs-zed.service", "err", func(i int) string {
			return fmt.Sprintf("eid=%d class=%s pool=%s vdev=sd%c", i, []string{"checksum", "io", "statechange", "scrub_finish"}[rng.IntN(4)], []string{"tank", "backup"}[rng.IntN(2)], 'a'+rune(rng.IntN(3)))
		}, 2 * time.Minute, 0, 0},
		{"restic-backup.service", "notice", func(i int) string {
			switch rng.IntN(4) {
			case 0:
				return "Fatal: unable to open config file: Stat: stat /mnt/backup/config: no such file or directory"
			case 1:
				return fmt.Sprintf("error: read /home/%s/.cache: permission denied", users[rng.IntN(len(users))])
			default:
				return fmt.Sprintf("Added to the repository: %d.%d MiB (%d.%d MiB stored)", rng.IntN(900), rng.IntN(10), rng.IntN(300), rng.IntN(10))
			}
		}, 90 * time.Second, 5 * time.Minute, 9 * time.Minute},
		{"nginx.service", "info", func(i int) string {
			return fmt.Sprintf(`%s - - "%s /api/%s HTTP/1.1" %d %d "-" "curl/8.5"`, ips[rng.IntN(len(ips))],
				[]string{"GET", "POST", "PUT"}[rng.IntN(3)], []string{"items", "users", "health"}[rng.IntN(3)],
				[]int{200, 200, 200, 201, 404, 500, 503}[rng.IntN(7)], rng.IntN(50000))
		}, 10 * time.Second, 0, 0},
	}
	for hi, h := range hosts {
		for ui, u := range units {
			if hi == 2 && ui == 2 {
				continue // the HA node has no ZFS
			}
			gs := genStream{Labels: series.FromStrings("job", "systemd-journal", "host", h, "unit", u.unit, "level", u.level)}
			i := 0
			for off := time.Duration(rng.IntN(int(u.every))); off < confSpan; off += u.every/2 + time.Duration(rng.IntN(int(u.every))) {
				if u.gapTo > 0 && off >= u.gapFrom && off < u.gapTo {
					continue
				}
				gs.Entries = append(gs.Entries, genEntry{at(off), u.lines(i)})
				i++
			}
			out = append(out, gs)
		}
	}
	// a burst: 120 SSH failures from one address within 30 seconds on main
	burst := genStream{Labels: series.FromStrings("job", "systemd-journal", "host", "main", "unit", "sshd.service", "level", "notice")}
	for i := 0; i < 120; i++ {
		burst.Entries = append(burst.Entries, genEntry{at(27*time.Minute + time.Duration(i)*250*time.Millisecond),
			fmt.Sprintf("Failed password for invalid user %s from 203.0.113.9 port %d ssh2", users[i%len(users)], 50000+i)})
	}
	out = append(out, burst)

	// logfmt app: job=app, host; keys host and job collide with the
	// stream's labels.
	for _, h := range []string{"main", "nas"} {
		gs := genStream{Labels: series.FromStrings("job", "app", "host", h, "env", "prod")}
		for off := time.Duration(rng.IntN(5000)) * time.Millisecond; off < confSpan; off += time.Duration(3000+rng.IntN(9000)) * time.Millisecond {
			if h == "nas" && off > 20*time.Minute && off < 26*time.Minute {
				continue
			}
			lvl := []string{"debug", "info", "info", "info", "warn", "error"}[rng.IntN(6)]
			status := []int{200, 200, 201, 204, 301, 404, 500, 502}[rng.IntN(8)]
			dur := []string{"12ms", "250ms", "1.5s", "3s", "800us", "45ms", "2m"}[rng.IntN(7)]
			size := []string{"512B", "1KB", "1.5KiB", "20kB", "3MB", "700B"}[rng.IntN(6)]
			var line string
			switch rng.IntN(14) {
			case 0:
				line = fmt.Sprintf(`level=%s msg="unterminated quote status=%d`, lvl, status)
			case 1:
				line = fmt.Sprintf(`level=%s msg= user= status=%d duration=%s`, lvl, status, dur)
			case 2:
				line = fmt.Sprintf(`level=%s host=%s-inner job=worker msg="collision" status=%d duration=%s`, lvl, h, status, dur)
			case 3:
				line = fmt.Sprintf(`level=%s msg="bad duration" duration=fast status=abc size=huge`, lvl)
			default:
				line = fmt.Sprintf(`ts=%d level=%s msg="handled request" method=%s path=/api/%s status=%d duration=%s size=%s latency_ms=%d.%d user=%s client=%s`,
					rng.IntN(1e9), lvl, []string{"GET", "POST"}[rng.IntN(2)], []string{"items", "users", "login"}[rng.IntN(3)], status, dur, size,
					rng.IntN(900), rng.IntN(1000), users[rng.IntN(len(users))], ips[rng.IntN(len(ips))])
			}
			gs.Entries = append(gs.Entries, genEntry{at(off), line})
		}
		out = append(out, gs)
	}

	// JSON api: job=api, host; keys host and job collide.
	for _, h := range []string{"main", "ha"} {
		gs := genStream{Labels: series.FromStrings("job", "api", "host", h)}
		for off := time.Duration(rng.IntN(4000)) * time.Millisecond; off < confSpan; off += time.Duration(2000+rng.IntN(8000)) * time.Millisecond {
			lvl := []string{"info", "info", "warn", "error"}[rng.IntN(4)]
			status := []int{200, 200, 404, 500}[rng.IntN(4)]
			var line string
			switch rng.IntN(12) {
			case 0:
				line = fmt.Sprintf(`{"level":"%s","msg":"truncated", "status":%d`, lvl, status)
			case 1:
				line = fmt.Sprintf(`level=%s not json at all`, lvl)
			case 2:
				line = fmt.Sprintf(`{"level":"%s","host":"%s-pod","job":"batch","status":%d,"latency":"%dms"}`, lvl, h, status, rng.IntN(2000))
			case 3:
				line = fmt.Sprintf(`{"level":"%s","status":%d,"latency":null,"ok":%t,"tags":["a","b"],"empty":""}`, lvl, status, rng.IntN(2) == 0)
			default:
				line = fmt.Sprintf(`{"level":"%s","status":%d,"latency":"%dms","bytes":%d,"req":{"method":"%s","path":"/v1/%s","client":{"ip":"%s"}},"user":{"id":%d,"name":"%s"},"msg":"req \"done\""}`,
					lvl, status, rng.IntN(3000), rng.IntN(100000), []string{"GET", "POST", "DELETE"}[rng.IntN(3)],
					[]string{"a", "b", "c"}[rng.IntN(3)], ips[rng.IntN(len(ips))], rng.IntN(50), users[rng.IntN(len(users))])
			}
			gs.Entries = append(gs.Entries, genEntry{at(off), line})
		}
		out = append(out, gs)
	}
	for i := range out {
		sort.Slice(out[i].Entries, func(a, b int) bool { return out[i].Entries[a].T.Before(out[i].Entries[b].T) })
	}
	return out
}

func streamSelector(ls series.Labels) string {
	var parts []string
	for _, l := range ls {
		parts = append(parts, fmt.Sprintf("%s=%q", l.Name, l.Value))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
