package notify

import (
	"errors"
	"fmt"
	"github.com/hlalert/hlalert/alerts/yamlnode"
	"os"
	"regexp"
	"strconv"
	"strings"

	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/alertmanager/inhibit"
	"github.com/prometheus/alertmanager/timeinterval"
	"gopkg.in/yaml.v3"
)

// Config is a parsed routing configuration: the route tree, receivers,
// inhibit_rules and time_intervals of an Alertmanager configuration file,
// used unchanged.
//
// hlalert delivers by email only (and optionally hands alerts to an
// external Alertmanager, configured outside the routing file), so a receiver
// may hold email_configs or nothing (a "null" receiver that drops alerts);
// any other integration is refused with an error naming the receiver.
type Config struct {
	// File is the file the config was read from ("" for in-memory input).
	File string
	// AM is the Alertmanager config as its own package parsed it; the email
	// side reads Receivers[i].EmailConfigs and Global from it.
	AM *amconfig.Config

	root         *dispatch.Route
	inhibit      []*inhibit.InhibitRule
	intervals    map[string][]timeinterval.TimeInterval
	sendResolved map[string]bool // receiver -> send resolved notifications
	integrations map[string]int  // receiver -> number of email configs
}

// Root returns the root of the route tree (Alertmanager's dispatch types).
func (c *Config) Root() *dispatch.Route { return c.root }

// SendResolved reports whether receiver gets resolved notifications.
//
// Alertmanager defaults email send_resolved to false; hlalert defaults it
// to true. An email_configs entry that sets send_resolved explicitly is
// honoured. All email_configs of one receiver must agree (checked at load).
func (c *Config) SendResolved(receiver string) bool { return c.sendResolved[receiver] }

// HasIntegrations reports whether receiver delivers anywhere; a receiver
// without email_configs drops alerts, as in Alertmanager.
func (c *Config) HasIntegrations(receiver string) bool { return c.integrations[receiver] > 0 }

// LoadConfig reads and validates an Alertmanager-format routing file.
// Relative file paths inside it resolve against its folder. The error names
// the file and, where known, line and column; all problems found are joined.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read routing config: %w", err)
	}
	c, err := Load(path, data)
	if err != nil {
		return nil, err
	}
	// Resolve relative paths the way Alertmanager's LoadFile does.
	am, err := amconfig.LoadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.AM = am
	return c, nil
}

// Load parses routing config data; name is used in errors (a file path or
// a description such as "notify.routing").
func Load(name string, data []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	am, err := loadAM(data)
	if err != nil {
		return nil, positioned(name, &doc, err)
	}
	c := &Config{
		File:         name,
		AM:           am,
		intervals:    map[string][]timeinterval.TimeInterval{},
		sendResolved: map[string]bool{},
		integrations: map[string]int{},
	}
	var errs []error
	fail := func(key string, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		errs = append(errs, positioned(name, &doc, &keyedError{key: key, msg: msg}))
	}
	explicit, recvNodes := explicitSendResolved(&doc)
	failRecv := func(recv string, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if n := recvNodes[recv]; n != nil {
			errs = append(errs, fmt.Errorf("%s: %w", yamlnode.At(name, n), &keyedError{key: recv, msg: msg}))
			return
		}
		errs = append(errs, positioned(name, &doc, &keyedError{key: recv, msg: msg}))
	}
	for _, r := range am.Receivers {
		if others := otherIntegrations(r); len(others) > 0 {
			failRecv(r.Name, "receiver %q: %s not supported by hlalert (it sends email; use email_configs, or hand alerts to an external Alertmanager)", r.Name, strings.Join(others, ", "))
		}
		c.integrations[r.Name] = len(r.EmailConfigs)
		resolved := true
		for i, ec := range r.EmailConfigs {
			v := true
			if explicit[r.Name] != nil && explicit[r.Name][i] {
				v = ec.SendResolved()
			}
			if i > 0 && v != resolved {
				failRecv(r.Name, "receiver %q: email_configs disagree on send_resolved; hlalert needs one value per receiver (split it into two receivers)", r.Name)
				break
			}
			resolved = v
		}
		c.sendResolved[r.Name] = resolved
	}
	for _, ti := range am.MuteTimeIntervals {
		c.intervals[ti.Name] = ti.TimeIntervals
	}
	for _, ti := range am.TimeIntervals {
		c.intervals[ti.Name] = ti.TimeIntervals
	}
	var checkLabels func(r *amconfig.Route, path string)
	checkLabels = func(r *amconfig.Route, path string) {
		if len(r.Labels) > 0 {
			fail("labels", "route %s: route labels are not supported by hlalert", path)
		}
		for i, cr := range r.Routes {
			checkLabels(cr, path+"/"+strconv.Itoa(i))
		}
	}
	checkLabels(am.Route, "root")
	c.root = dispatch.NewRoute(am.Route, nil)
	for _, ir := range am.InhibitRules {
		c.inhibit = append(c.inhibit, inhibit.NewInhibitRule(ir))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// loadAM runs Alertmanager's parser, turning its panics (it dereferences
// nil entries such as an empty `routes: [-]` item) into errors.
func loadAM(data []byte) (am *amconfig.Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			am, err = nil, fmt.Errorf("invalid config (the Alertmanager parser failed: %v); look for empty list items such as a bare '-' under routes", r)
		}
	}()
	return amconfig.Load(string(data))
}

func otherIntegrations(r amconfig.Receiver) []string {
	var out []string
	add := func(n int, name string) {
		if n > 0 {
			out = append(out, name)
		}
	}
	add(len(r.DiscordConfigs), "discord_configs")
	add(len(r.IncidentioConfigs), "incidentio_configs")
	add(len(r.PagerdutyConfigs), "pagerduty_configs")
	add(len(r.SlackConfigs), "slack_configs")
	add(len(r.WebhookConfigs), "webhook_configs")
	add(len(r.OpsGenieConfigs), "opsgenie_configs")
	add(len(r.WechatConfigs), "wechat_configs")
	add(len(r.PushoverConfigs), "pushover_configs")
	add(len(r.VictorOpsConfigs), "victorops_configs")
	add(len(r.SNSConfigs), "sns_configs")
	add(len(r.TelegramConfigs), "telegram_configs")
	add(len(r.WebexConfigs), "webex_configs")
	add(len(r.MSTeamsConfigs), "msteams_configs")
	add(len(r.MSTeamsV2Configs), "msteamsv2_configs")
	add(len(r.JiraConfigs), "jira_configs")
	add(len(r.RocketchatConfigs), "rocketchat_configs")
	add(len(r.MattermostConfigs), "mattermost_configs")
	return out
}

// explicitSendResolved finds, per receiver name, which email_configs
// entries set send_resolved themselves (Alertmanager's parsed config cannot
// tell an explicit false from its default).
func explicitSendResolved(doc *yaml.Node) (map[string][]bool, map[string]*yaml.Node) {
	out := map[string][]bool{}
	nodes := map[string]*yaml.Node{}
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	recv := mapValue(root, "receivers")
	if recv == nil || recv.Kind != yaml.SequenceNode {
		return out, nodes
	}
	for _, r := range recv.Content {
		nameN := mapValue(r, "name")
		if nameN != nil && nodes[nameN.Value] == nil {
			nodes[nameN.Value] = nameN
		}
		ecs := mapValue(r, "email_configs")
		if nameN == nil || ecs == nil || ecs.Kind != yaml.SequenceNode {
			continue
		}
		var flags []bool
		for _, ec := range ecs.Content {
			flags = append(flags, mapValue(ec, "send_resolved") != nil)
		}
		out[nameN.Value] = flags
	}
	return out, nodes
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// keyedError is a validation error of ours that names a YAML scalar to
// locate it.
type keyedError struct{ key, msg string }

func (e *keyedError) Error() string { return e.msg }

var (
	lineRE   = regexp.MustCompile(`line (\d+)`)
	quotedRE = regexp.MustCompile(`"([^"]+)"`)
)

// positioned prefixes err with name and the best position it can find:
// the line yaml reported, else the first scalar in the document equal to
// a quoted name in the message (Alertmanager's validation errors carry no
// positions, but name the receiver or interval at fault).
func positioned(name string, doc *yaml.Node, err error) error {
	msg := err.Error()
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: %w", name, m[1], err)
	}
	var candidates []string
	var ke *keyedError
	if errors.As(err, &ke) {
		candidates = append(candidates, ke.key)
	}
	for _, m := range quotedRE.FindAllStringSubmatch(msg, -1) {
		candidates = append(candidates, m[1])
	}
	for _, c := range candidates {
		if n := findScalar(doc, c); n != nil {
			return fmt.Errorf("%s: %w", yamlnode.At(name, n), err)
		}
	}
	return fmt.Errorf("%s: %w", name, err)
}

// findScalar returns the first scalar (in document order) whose value is v,
// preferring values over keys.
func findScalar(n *yaml.Node, v string) *yaml.Node {
	var key *yaml.Node
	var walk func(n *yaml.Node, isKey bool) *yaml.Node
	walk = func(n *yaml.Node, isKey bool) *yaml.Node {
		if n.Kind == yaml.ScalarNode && n.Value == v {
			if !isKey {
				return n
			}
			if key == nil {
				key = n
			}
		}
		for i, c := range n.Content {
			if r := walk(c, n.Kind == yaml.MappingNode && i%2 == 0); r != nil {
				return r
			}
		}
		return nil
	}
	if r := walk(n, false); r != nil {
		return r
	}
	return key
}
