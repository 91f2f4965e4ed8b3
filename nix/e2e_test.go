package nix

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestApplianceEndToEnd is the VM test's path without a VM: the main role's
// rendered configs run the real programs — VictoriaMetrics v1.150.0 with the
// rendered scrape config and Loki v3.7.8 with the rendered configuration
// (as nixpkgs' modules start them), the hlexporter deploy unit's and
// hlalert's command lines from their units with their checked configs —
// and mails reach a real SMTP sink (Mailpit v1.31.2) through the
// appliance's routing: an always-firing rule's, and the shipped LogQL rule
// JournalCriticalMessages' for a journal line pushed with the labels Alloy
// sets (job, host, unit, level). Only ports, state folders and the scrape
// interval are overridden.
func TestApplianceEndToEnd(t *testing.T) {
	e := setup(t)
	vm := realTool(t, "victoria-metrics-v1.150.0")
	mailpit := realTool(t, "mailpit-v1.31.2")
	loki := realTool(t, "loki-v3.7.8")

	port := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
	vmPort, hlPort, deployPort, mailHTTP, mailSMTP, lokiPort, lokiGRPC := port(), port(), port(), port(), port(), port(), port()
	state := t.TempDir()
	override := writeModule(t, fmt.Sprintf(`{
  networking.hostName = "main";
  homelab.services.monitoring = {
    enable = true;
    role = "main";
    email = "operator@example.org";
    smtp = { host = "127.0.0.1:%d"; requireTLS = false; };
    grafana.secretKeyFile = "/run/agenix/grafana-secret-key";
    lokiUrl = "http://127.0.0.1:%d";
  };
  services.loki.configuration = {
    server = { http_listen_port = %d; grpc_listen_port = %d; };
    common.path_prefix = "%s/loki";
    common.storage.filesystem = { chunks_directory = "%s/loki/chunks"; rules_directory = "%s/loki/rules"; };
    compactor.working_directory = "%s/loki/compactor";
  };
  services.victoriametrics.listenAddress = "127.0.0.1:%d";
  services.victoriametrics.prometheusConfig.global.scrape_interval = "2s";
  services.hlexporter.collectors.deploy.port = %d;
  services.hlalert.settings = {
    listen = "127.0.0.1:%d";
    state_dir = "%s/state";
    outbox_dir = "%s/outbox";
  };
  services.hlalert.extraRules = [ {
    name = "e2e";
    interval = "2s";
    rules = [ { alert = "E2EAlwaysFiring"; expr = "vector(1)"; labels.severity = "info"; annotations = { summary = "the end-to-end test's alert"; description = "vector(1) always fires."; }; } ];
  } ];
}`, mailSMTP, lokiPort, lokiPort, lokiGRPC, state, state, state, state, vmPort, deployPort, hlPort, state, state))
	res := e.mustEval(t, override)
	runChecks(t, e, res)

	start(t, "mailpit", fmt.Sprintf("http://127.0.0.1:%d/readyz", mailHTTP), mailpit,
		fmt.Sprintf("--listen=127.0.0.1:%d", mailHTTP), fmt.Sprintf("--smtp=127.0.0.1:%d", mailSMTP),
		"--database="+filepath.Join(t.TempDir(), "mailpit.db"), "--disable-version-check", "--quiet")

	lokiURL := fmt.Sprintf("http://127.0.0.1:%d", lokiPort)
	start(t, "loki", lokiURL+"/ready", loki, "-config.file="+writeJSON(t, "loki.json", get(res, "loki.configuration")))
	// A journal line as Alloy ships it: the labels of nix/modules/appliance.nix.
	push := fmt.Sprintf(`{"streams":[{"stream":{"job":"systemd-journal","host":"main","unit":"e2e.service","level":"crit"},"values":[["%d","e2e: a critical message"]]}]}`, time.Now().UnixNano())
	resp, err := http.Post(lokiURL+"/loki/api/v1/push", "application/json", strings.NewReader(push))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("push to Loki: %s", resp.Status)
	}

	scrape := writeJSON(t, "prometheus.yaml", get(res, "victoriametrics.prometheusConfig"))
	vmURL := "http://" + str(res, "victoriametrics.listenAddress")
	start(t, "victoriametrics", vmURL+"/health", vm, "-storageDataPath="+t.TempDir(),
		"-httpListenAddr="+str(res, "victoriametrics.listenAddress"),
		"-retentionPeriod="+str(res, "victoriametrics.retentionPeriod"),
		"-promscrape.config="+scrape)

	// The units' own command lines, with the checked configs the build
	// would link.
	deployArgs := unitCommand(t, e, res, "hlexporter-deploy", str(res, "hlexporter.configFiles.deploy"), str(res, "hlexporter.configFiles.deploy"))
	start(t, "hlexporter-deploy", fmt.Sprintf("http://127.0.0.1:%d/healthz", deployPort), deployArgs[0], deployArgs[1:]...)
	hlArgs := unitCommand(t, e, res, "hlalert", "/etc/hlalert/hlalert.yaml", str(res, "hlalert.configFile"))
	start(t, "hlalert", fmt.Sprintf("http://127.0.0.1:%d/-/healthy", hlPort), hlArgs[0], hlArgs[1:]...)

	// VictoriaMetrics scrapes the exporter unit and hlalert.
	for _, job := range []string{"hlexporter-deploy", "hlalert"} {
		eventually(t, 60*time.Second, "VictoriaMetrics scrapes "+job, func() (bool, string) {
			body := httpGet(vmURL + "/api/v1/query?query=" + url.QueryEscape(`up{job="`+job+`",host="main"}`))
			return strings.Contains(body, `"1"]`), body
		})
	}
	// The alerts reach the SMTP sink: the MetricsQL one, and the shipped
	// LogQL rule on the journal line (its group runs every minute).
	for _, alert := range []string{"E2EAlwaysFiring", "JournalCriticalMessages"} {
		eventually(t, 180*time.Second, alert+"'s mail reaches Mailpit", func() (bool, string) {
			body := httpGet(fmt.Sprintf("http://127.0.0.1:%d/api/v1/messages", mailHTTP))
			var msgs struct {
				Messages []struct {
					Subject string
					To      []struct{ Address string }
				}
			}
			_ = json.Unmarshal([]byte(body), &msgs)
			for _, m := range msgs.Messages {
				if strings.Contains(m.Subject, alert) && len(m.To) == 1 && m.To[0].Address == "operator@example.org" {
					return true, ""
				}
			}
			rules := httpGet(fmt.Sprintf("http://127.0.0.1:%d/api/v1/rules", hlPort))
			if i := strings.Index(rules, `"name":"journal"`); i >= 0 {
				rules = rules[i:min(len(rules), i+1500)]
			}
			return false, body + "\nhlalert's journal group: " + rules
		})
	}
}

// unitCommand is the unit's ExecStart with the config path replaced by the
// file the config derivation links (the build script's `ln -s` target).
func unitCommand(t *testing.T, e *env, res map[string]any, unit, configArg, script string) []string {
	t.Helper()
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	m := linkLine.FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s: no ln -s in %s", unit, script)
	}
	args := strings.Fields(str(res, "systemd."+unit+".serviceConfig.ExecStart"))
	found := false
	for i, a := range args {
		if a == configArg {
			args[i], found = string(m[1]), true
		}
	}
	if !found || !strings.HasPrefix(args[0], e.binDir+"/") {
		t.Fatalf("%s: unexpected ExecStart %q", unit, args)
	}
	return args
}

// start runs a program until the test ends and waits until ready answers
// 200. Its output is shown when the test fails.
func start(t *testing.T, name, ready, bin string, args ...string) {
	t.Helper()
	var log bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, log.String())
		}
	})
	eventually(t, 60*time.Second, name+" is ready", func() (bool, string) {
		resp, err := http.Get(ready)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
}

func httpGet(u string) string {
	resp, err := http.Get(u)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, timeout, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
