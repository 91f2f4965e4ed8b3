package nvr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hlalert/hlalert/exporters/serve"
)

var (
	camLabel = []string{"camera"}

	mCameraFPS = serve.NewMetricDef("hlexporter_nvr_camera_fps",
		"Frames per second the camera delivers (Frigate camera_fps); 0 means the stream is down.", serve.Gauge, camLabel...)
	mDetectionFPS = serve.NewMetricDef("hlexporter_nvr_camera_detection_fps",
		"Object detections per second for the camera.", serve.Gauge, camLabel...)
	mProcessFPS = serve.NewMetricDef("hlexporter_nvr_camera_process_fps",
		"Frames per second processed for motion.", serve.Gauge, camLabel...)
	mSkippedFPS = serve.NewMetricDef("hlexporter_nvr_camera_skipped_fps",
		"Frames per second skipped because detection could not keep up.", serve.Gauge, camLabel...)
	mDetectEnabled = serve.NewMetricDef("hlexporter_nvr_camera_detection_enabled",
		"1 if object detection is enabled for the camera.", serve.Gauge, camLabel...)
	mRecording = serve.NewMetricDef("hlexporter_nvr_camera_recording",
		"1 if the camera has a recording segment in the lookback window (recordings_lookback).", serve.Gauge, camLabel...)
	mLastSegment = serve.NewMetricDef("hlexporter_nvr_camera_last_recording_end_timestamp_seconds",
		"End of the camera's newest recording segment within the lookback window.", serve.Gauge, camLabel...)
	mInference = serve.NewMetricDef("hlexporter_nvr_detector_inference_seconds",
		"Average inference time of the detector.", serve.Gauge, "detector")
	mStorageSize = serve.NewMetricDef("hlexporter_nvr_storage_size_bytes",
		"Size of the filesystem holding the path.", serve.Gauge, "path", "mount_type")
	mStorageUsed = serve.NewMetricDef("hlexporter_nvr_storage_used_bytes",
		"Used bytes of the filesystem holding the path.", serve.Gauge, "path", "mount_type")
	mStorageFree = serve.NewMetricDef("hlexporter_nvr_storage_free_bytes",
		"Free bytes of the filesystem holding the path.", serve.Gauge, "path", "mount_type")
	mStart = serve.NewMetricDef("hlexporter_nvr_start_timestamp_seconds",
		"When the Frigate service started (its last_updated minus its uptime).", serve.Gauge)
	mCameras = serve.NewMetricDef("hlexporter_nvr_cameras", "Cameras Frigate reports.", serve.Gauge)
	mInfo    = serve.NewMetricDef("hlexporter_nvr_info",
		"Frigate's version and the latest release it knows of.", serve.Info, "version", "latest_version")
)

// Metrics lists every metric the nvr collector can emit, for the catalog;
// it needs no configuration.
func Metrics() []*serve.MetricDef { return slices.Clone(defs) }

var defs = []*serve.MetricDef{
	mCameraFPS, mDetectionFPS, mProcessFPS, mSkippedFPS, mDetectEnabled, mRecording, mLastSegment,
	mInference, mStorageSize, mStorageUsed, mStorageFree, mStart, mCameras, mInfo,
}

// maxBody bounds a response read.
const maxBody = 16 << 20

type collector struct {
	cfg    Config
	base   *url.URL
	client *http.Client
	now    func() time.Time
	log    *slog.Logger
}

// New returns the Frigate collector. client nil means a new http.Client;
// now nil means time.Now; log nil discards.
func New(cfg Config, client *http.Client, now func() time.Time, log *slog.Logger) (serve.Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	base, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil {
		return nil, fmt.Errorf("nvr.url: %w", err)
	}
	if client == nil {
		client = &http.Client{}
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &collector{cfg: cfg, base: base, client: client, now: now, log: log}, nil
}

func (c *collector) Name() string                 { return "nvr" }
func (c *collector) Describe() []*serve.MetricDef { return defs }

// Update reads /api/stats, then each camera's recordings since
// now-lookback. Without stats nothing is reported; a camera whose
// recordings cannot be read lacks only its recording metrics.
func (c *collector) Update(ctx context.Context) (serve.Result, error) {
	now := c.now()
	body, err := c.get(ctx, nil, "api", "stats")
	if err != nil {
		return serve.Result{}, err
	}
	st, err := ParseStats(body)
	if err != nil {
		return serve.Result{}, err
	}
	var m serve.Metrics
	var errs []error
	hp := map[string]any{"frigate_version": st.Version}
	streaming, recording, detectFPS := 0, 0, 0.0
	q := url.Values{
		"after":  {strconv.FormatInt(now.Add(-c.cfg.RecordingsLookback).Unix(), 10)},
		"before": {strconv.FormatInt(now.Unix(), 10)},
	}
	for _, cam := range st.Cameras {
		m.Add(mCameraFPS, cam.CameraFPS, cam.Name)
		m.Add(mDetectionFPS, cam.DetectionFPS, cam.Name)
		m.Add(mProcessFPS, cam.ProcessFPS, cam.Name)
		m.Add(mSkippedFPS, cam.Skipped, cam.Name)
		if cam.DetectionEnabled != nil {
			m.Add(mDetectEnabled, b2f(*cam.DetectionEnabled), cam.Name)
		}
		if cam.CameraFPS > 0 {
			streaming++
		}
		detectFPS += cam.DetectionFPS
		b, err := c.get(ctx, q, "api", cam.Name, "recordings")
		if err != nil {
			errs = append(errs, fmt.Errorf("camera %s: %w", cam.Name, err))
			continue
		}
		end, n, err := ParseRecordings(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("camera %s: %w", cam.Name, err))
			continue
		}
		m.Add(mRecording, b2f(n > 0), cam.Name)
		if n > 0 {
			recording++
			m.Add(mLastSegment, end, cam.Name)
		}
	}
	maxInference := 0.0
	for _, d := range st.Detectors {
		m.Add(mInference, d.InferenceSpeed/1000, d.Name)
		maxInference = math.Max(maxInference, d.InferenceSpeed)
	}
	for _, s := range st.Storage {
		m.Add(mStorageSize, s.Total, s.Path, s.MountType)
		m.Add(mStorageUsed, s.Used, s.Path, s.MountType)
		m.Add(mStorageFree, s.Free, s.Path, s.MountType)
		if s.Path == c.cfg.RecordingsStorage && s.Total > 0 {
			hp["storage_used_percent"] = math.Round(s.Used/s.Total*1000) / 10
			hp["storage_free_bytes"] = s.Free
		}
	}
	updated := st.Updated
	if updated == 0 {
		updated = float64(now.Unix())
	}
	m.Add(mStart, updated-st.Uptime)
	m.Add(mCameras, float64(len(st.Cameras)))
	m.Add(mInfo, 1, st.Version, st.Latest)

	hp["cameras"] = len(st.Cameras)
	hp["cameras_streaming"] = streaming
	hp["cameras_recording"] = recording
	hp["detection_fps"] = math.Round(detectFPS*10) / 10
	hp["inference_ms"] = maxInference
	hp["uptime_hours"] = math.Round(st.Uptime/360) / 10

	list, err := m.List()
	if err != nil {
		errs = append(errs, err)
	}
	return serve.Result{Metrics: list, Homepage: hp}, errors.Join(errs...)
}

// get fetches base/elem...?query with the configured auth and timeout;
// each element is escaped (camera names may hold spaces).
func (c *collector) get(ctx context.Context, q url.Values, elem ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	u := c.base.JoinPath(elem...)
	path := "/" + strings.Join(elem, "/")
	if q != nil {
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/json")
	if err := c.auth(req); err != nil {
		return nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return nil, fmt.Errorf("GET %s: timed out after %s: %w", path, c.cfg.Timeout, err)
		}
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: read body: %w", path, err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("GET %s: body larger than %d bytes", path, maxBody)
	}
	if resp.StatusCode != http.StatusOK {
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			hint = " (check nvr credentials)"
		}
		return nil, fmt.Errorf("GET %s: HTTP %d%s: %s", path, resp.StatusCode, hint, trunc(strings.TrimSpace(string(body))))
	}
	return body, nil
}

// auth reads the secret files on every request, so rotation needs no restart.
func (c *collector) auth(req *http.Request) error {
	switch {
	case c.cfg.TokenFile != "":
		b, err := os.ReadFile(c.cfg.TokenFile)
		if err != nil {
			return fmt.Errorf("nvr.token_file: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(b)))
	case c.cfg.Username != "":
		b, err := os.ReadFile(c.cfg.PasswordFile)
		if err != nil {
			return fmt.Errorf("nvr.password_file: %w", err)
		}
		req.SetBasicAuth(c.cfg.Username, strings.TrimRight(string(b), "\r\n"))
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
