package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// liveReplica builds another server over a's database and bucket, with a's
// configuration: what a second `amparo serve` against the same stack is.
// Its alert hub runs until the test ends or stop is called.
func (a *testApp) liveReplica(t testing.TB) (r *testApp, stop func()) {
	t.Helper()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := build(ctx, a.cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.handler)
	r = &testApp{t: t, srv: srv, db: a.db, blobs: a.blobs, issuer: a.issuer, cfg: a.cfg, server: s}
	hubStop := r.runAlerts()
	stop = sync.OnceFunc(func() {
		hubStop()
		srv.CloseClientConnections()
		srv.Close()
		cancel()
		s.db.Close()
	})
	t.Cleanup(stop)
	return r, stop
}

// runAlerts runs a's alert hub (which serve runs beside the server) until
// the test ends or stop is called.
func (a *testApp) runAlerts() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { a.server.alerts.Run(ctx) })
	<-a.server.alerts.Ready()
	stop = sync.OnceFunc(func() { cancel(); wg.Wait() })
	a.t.Cleanup(stop)
	return stop
}

// wsEvent is a line of testdata/wsclient/subscribe.mjs.
type wsEvent struct {
	Event string `json:"event"`
	Alert struct {
		ID      string  `json:"id"`
		Kind    string  `json:"kind"`
		At      string  `json:"at"`
		CaseID  *string `json:"caseId"`
		Urgency *string `json:"urgency"`
	} `json:"alert"`
	ReceivedAt string     `json:"receivedAt"`
	Errors     []gqlError `json:"errors"`
	Code       int        `json:"code"`
	Reason     string     `json:"reason"`
}

// wsClient is a real graphql-ws client (the npm package, in node)
// subscribed to alerts.
type wsClient struct {
	first  wsEvent // connected, or closed when refused
	events chan wsEvent
	stdin  io.WriteCloser
}

// closeForbidden is graphql-transport-ws's close code for a refused
// connection_init.
const closeForbidden = 4403

// wsClientDir holds the node client and its locked dependencies.
const wsClientDir = "testdata/wsclient"

// needNode skips the test without node, and installs the client's
// dependencies (npm ci) when `make test` has not.
func needNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: the graphql-ws subscription tests need it (apt-get install nodejs npm)")
	}
	if _, err := os.Stat(filepath.Join(wsClientDir, "node_modules", "graphql-ws")); err == nil {
		return
	}
	out, err := exec.Command("npm", "ci", "--prefix", wsClientDir, "--no-audit", "--no-fund").CombinedOutput()
	if err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", wsClientDir, err, out)
	}
}

// subscribe connects email's graphql-ws client to app's /graphql and
// subscribes to alerts; origin, when set, is sent as the browser would.
// It returns once the connection is acknowledged or refused.
func (a *testApp) subscribe(t *testing.T, email, origin string) *wsClient {
	t.Helper()
	return a.subscribeWith(t, a.token(email), origin)
}

// subscribeWith is subscribe with a token of the caller's making.
func (a *testApp) subscribeWith(t *testing.T, token string, origin ...string) *wsClient {
	t.Helper()
	url := "ws" + strings.TrimPrefix(a.srv.URL, "http") + "/graphql"
	args := append([]string{filepath.Join(wsClientDir, "subscribe.mjs"), url, token}, origin...)
	cmd := exec.Command("node", args...)
	cmd.Env = append(os.Environ(), "AMPARO_WS_QUERY="+a.wsQuery)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &wsClient{events: make(chan wsEvent, 100), stdin: stdin}
	go func() {
		defer close(c.events)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev wsEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err == nil {
				c.events <- ev
			}
		}
	}()
	t.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	// connected is sent on connection_ack; the subscription itself starts
	// a moment later (waitSubscribers).
	if c.first = c.next(t, 20*time.Second); c.first.Event != "connected" && c.first.Event != "closed" {
		t.Fatalf("first event %+v", c.first)
	}
	return c
}

// next is the client's next event, or a zero event after within.
func (c *wsClient) next(t *testing.T, within time.Duration) wsEvent {
	t.Helper()
	select {
	case ev, ok := <-c.events:
		if !ok {
			return wsEvent{Event: "exited"}
		}
		return ev
	case <-time.After(within):
		return wsEvent{}
	}
}

// waitSubscribers waits until app's hub holds n subscriptions.
func (a *testApp) waitSubscribers(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for a.server.alerts.Subscribers() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscriptions, want %d", a.server.alerts.Subscribers(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fileUrgent files an IMMEDIATE case as email and returns its id.
func (a *testApp) fileUrgent(email, key string) string {
	a.t.Helper()
	in := fileCaseInput(key)
	in["urgency"] = "IMMEDIATE"
	var out struct {
		FileCase struct{ Case struct{ ID string } }
	}
	a.do(a.token(email), fileCaseMutation, map[string]any{"input": in}).decode(a.t, &out)
	return out.FileCase.Case.ID
}

// unread lists the ids of the cases of email's unread alerts, newest first.
func (a *testApp) unread(email string) []string {
	a.t.Helper()
	var out struct {
		Alerts struct {
			TotalCount int
			Edges      []struct {
				Node struct {
					ID, Kind string
					CaseID   string
				}
			}
		}
	}
	a.do(a.token(email), `{ alerts(unreadOnly: true, first: 50) { totalCount edges { node { id kind caseId } } } }`, nil).decode(a.t, &out)
	var ids []string
	for _, e := range out.Alerts.Edges {
		ids = append(ids, e.Node.CaseID)
	}
	return ids
}

// TestAlertsAcrossReplicas: through real graphql-ws clients on replica B, an
// urgent case filed on replica A reaches PGN's supervisor and nobody else.
func TestAlertsAcrossReplicas(t *testing.T) {
	needNode(t)
	a := newTestApp(t)
	a.runAlerts()
	b, _ := a.liveReplica(t)
	sup := b.subscribe(t, "supervisor@pgn.demo", "")
	sbs := b.subscribe(t, "officer@sbs.demo", "")
	filer := a.subscribe(t, "officer@pgn.demo", "")
	b.waitSubscribers(t, 2)
	a.waitSubscribers(t, 1)

	id := a.fileUrgent("officer@pgn.demo", "ws-urgent-1")
	filed := time.Now()
	ev := sup.next(t, 10*time.Second)
	if ev.Event != "next" || ev.Alert.Kind != "URGENT_CASE" || ev.Alert.CaseID == nil || *ev.Alert.CaseID != id ||
		ev.Alert.Urgency == nil || *ev.Alert.Urgency != "IMMEDIATE" {
		t.Fatalf("supervisor on B: %+v, want URGENT_CASE of case %s", ev, id)
	}
	t.Logf("filed on A → pushed on B: %s after the filing returned", time.Since(filed))
	t.Run("NobodyElseHearsOfIt", func(t *testing.T) {
		a.do(a.token("officer@sbs.demo"), fileCaseMutation, map[string]any{"input": fileCaseInput("ws-sbs-low")}) // a case of SBS's own, HIGH: their supervisor, not them
		for name, c := range map[string]*wsClient{"officer@sbs.demo": sbs, "officer@pgn.demo (the filer)": filer} {
			if ev := c.next(t, 500*time.Millisecond); ev.Event != "" {
				t.Errorf("%s heard %+v", name, ev)
			}
		}
		if n := countRows(t, a.db.App, `SELECT count(*) FROM alerts a JOIN users u ON u.id = a.recipient_id WHERE u.email <> 'supervisor@pgn.demo'`); n != 0 {
			t.Errorf("%d alerts for someone else", n)
		}
	})
	t.Run("InboxHoldsItUntilRead", func(t *testing.T) {
		if got := a.unread("supervisor@pgn.demo"); len(got) != 1 || got[0] != id {
			t.Fatalf("unread %v, want [%s]", got, id)
		}
		var out struct {
			MarkAlertsRead struct{ Alerts []struct{ Read bool } }
		}
		b.do(b.token("supervisor@pgn.demo"), `mutation($ids: [ID!]!) { markAlertsRead(ids: $ids) { alerts { read } } }`,
			map[string]any{"ids": []string{ev.Alert.ID}}).decode(t, &out)
		if len(out.MarkAlertsRead.Alerts) != 1 || !out.MarkAlertsRead.Alerts[0].Read {
			t.Errorf("marked %+v", out.MarkAlertsRead.Alerts)
		}
		if got := a.unread("supervisor@pgn.demo"); len(got) != 0 {
			t.Errorf("unread after marking: %v", got)
		}
	})
	t.Run("ErrForbiddenForAnotherUsersAlert", func(t *testing.T) {
		res := b.do(b.token("officer@sbs.demo"), `mutation($ids: [ID!]!) { markAlertsRead(ids: $ids) { alerts { id } } }`,
			map[string]any{"ids": []string{ev.Alert.ID}})
		if got := strings.Join(res.codes(), ","); got != "NOT_FOUND" {
			t.Errorf("codes %s, want NOT_FOUND", got)
		}
	})
}

// TestAlertsDisabledUserCutOff: disabling a user on replica A closes their
// open subscription on replica B, and they cannot connect again.
func TestAlertsDisabledUserCutOff(t *testing.T) {
	needNode(t)
	a := newTestApp(t)
	a.runAlerts()
	b, _ := a.liveReplica(t)
	sup := b.subscribe(t, "supervisor@pgn.demo", "")
	b.waitSubscribers(t, 1)
	supID := userID(t, a, "supervisor@pgn.demo")
	a.do(a.token("admin@amparo.demo"), `mutation($id: ID!) { disableUser(userId: $id) { user { disabledAt } } }`,
		map[string]any{"id": supID.String()}).decode(t, &struct{}{})
	disabled := time.Now()
	var ev wsEvent
	for ev = sup.next(t, 10*time.Second); ev.Event == "error" || ev.Event == "complete"; ev = sup.next(t, 10*time.Second) {
	}
	if ev.Event != "closed" {
		t.Fatalf("after disabling: %+v, want the connection closed", ev)
	}
	t.Logf("closed %s after the disabling returned", time.Since(disabled))
	b.waitSubscribers(t, 0)
	again := b.subscribe(t, "supervisor@pgn.demo", "")
	if ev := again.first; ev.Event != "closed" || ev.Code != closeForbidden {
		t.Errorf("reconnecting: %+v, want closed with %d", ev, closeForbidden)
	}
}

// TestAlertsReplicaRestart: what is raised while replica B is down waits in
// the inbox B serves once it is back; a subscription opened there is pushed
// it at once (it is unread and of the last minute), then what follows, each
// once.
func TestAlertsReplicaRestart(t *testing.T) {
	needNode(t)
	a := newTestApp(t)
	a.runAlerts()
	b, stopB := a.liveReplica(t)
	sup := b.subscribe(t, "supervisor@pgn.demo", "")
	b.waitSubscribers(t, 1)
	stopB()
	if ev := sup.next(t, 10*time.Second); ev.Event != "closed" && ev.Event != "exited" {
		t.Fatalf("replica stopped: %+v", ev)
	}
	first := a.fileUrgent("officer@pgn.demo", "ws-restart-1")
	second := a.fileUrgent("officer@pgn.demo", "ws-restart-2")
	b, _ = a.liveReplica(t)
	if got := b.unread("supervisor@pgn.demo"); len(got) != 2 || got[0] != second || got[1] != first {
		t.Errorf("inbox on the restarted replica: %v, want [%s %s]", got, second, first)
	}
	sup = b.subscribe(t, "supervisor@pgn.demo", "")
	for _, want := range []string{first, second} {
		if ev := sup.next(t, 10*time.Second); ev.Event != "next" || ev.Alert.CaseID == nil || *ev.Alert.CaseID != want {
			t.Fatalf("opening after restart: %+v, want case %s (raised while B was down)", ev, want)
		}
	}
	b.waitSubscribers(t, 1)
	third := a.fileUrgent("officer@pgn.demo", "ws-restart-3")
	if ev := sup.next(t, 10*time.Second); ev.Event != "next" || ev.Alert.CaseID == nil || *ev.Alert.CaseID != third {
		t.Fatalf("after restart: %+v, want case %s", ev, third)
	}
	if ev := sup.next(t, 500*time.Millisecond); ev.Event != "" {
		t.Errorf("then %+v, want nothing more (nothing is pushed twice)", ev)
	}
}

// TestAlertsOrigin: browsers may subscribe from the server's own origin and
// from AMPARO_CORS_ORIGINS only.
func TestAlertsOrigin(t *testing.T) {
	needNode(t)
	a := newTestApp(t, func(c *config) { c.Alerts.Origins = []string{"https://consola.example.org"} })
	a.runAlerts()
	for _, tc := range []struct {
		name, origin string
		want         string
	}{
		{"SameOrigin", a.srv.URL, "connected"},
		{"Allowed", "https://consola.example.org", "connected"},
		{"ErrRefusedOtherOrigin", "https://evil.example.net", "closed"},
		{"ErrRefusedAllowedHostOtherScheme", "http://consola.example.org", "closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c := a.subscribe(t, "supervisor@pgn.demo", tc.origin); c.first.Event != tc.want {
				t.Errorf("from %s: %+v, want %s", tc.origin, c.first, tc.want)
			}
		})
	}
}

// TestAlertsKeepAlive: the server's pings are answered by the client, so a
// quiet subscription outlives many keep-alive periods and still delivers.
func TestAlertsKeepAlive(t *testing.T) {
	needNode(t)
	a := newTestApp(t, func(c *config) { c.Alerts.KeepAlive = 100 * time.Millisecond })
	a.runAlerts()
	sup := a.subscribe(t, "supervisor@pgn.demo", "")
	a.waitSubscribers(t, 1)
	if ev := sup.next(t, 2*time.Second); ev.Event != "" {
		t.Fatalf("quiet subscription: %+v", ev)
	}
	id := a.fileUrgent("officer@pgn.demo", "ws-keepalive")
	if ev := sup.next(t, 10*time.Second); ev.Event != "next" || ev.Alert.CaseID == nil || *ev.Alert.CaseID != id {
		t.Fatalf("after 20 keep-alive periods: %+v, want case %s", ev, id)
	}
}

// TestAlertsSubscriptionRefused: a bad token is refused at connection_init;
// a role without alert:read is refused the subscription.
func TestAlertsSubscriptionRefused(t *testing.T) {
	needNode(t)
	a := newTestApp(t)
	a.runAlerts()
	t.Run("ErrForbiddenBadToken", func(t *testing.T) {
		c := a.subscribeWith(t, "not-a-token")
		if c.first.Event != "closed" || c.first.Code != closeForbidden {
			t.Errorf("bad token: %+v, want closed with %d", c.first, closeForbidden)
		}
	})
	t.Run("ErrForbiddenWithoutAlertRead", func(t *testing.T) {
		c := a.subscribe(t, "intake@igm.demo", "")
		ev := c.next(t, 10*time.Second)
		if ev.Event != "error" || len(ev.Errors) == 0 || ev.Errors[0].Extensions.Code != "FORBIDDEN" {
			t.Errorf("intake: %+v, want a FORBIDDEN error", ev)
		}
	})
}

// inboxEntry is an alert as the inbox lists it.
type inboxEntry struct {
	Kind        string
	CaseID      *string
	ComplaintID *string
	Urgency     *string
}

// inbox lists email's unread alerts of kind.
func (a *testApp) inbox(email, kind string) []inboxEntry {
	a.t.Helper()
	var out struct {
		Alerts struct {
			Edges []struct{ Node inboxEntry }
		}
	}
	a.do(a.token(email), `{ alerts(unreadOnly: true, first: 100) { edges { node { kind caseId complaintId urgency } } } }`, nil).decode(a.t, &out)
	var got []inboxEntry
	for _, e := range out.Alerts.Edges {
		if e.Node.Kind == kind {
			got = append(got, e.Node)
		}
	}
	return got
}

// TestAlertsOfTheWorkflow: routing a complaint, assigning a case and
// asking for its closure alert whom they concern, in their transactions.
func TestAlertsOfTheWorkflow(t *testing.T) {
	a := newTestApp(t)
	in := complaintInput("alerts-routing-1")
	in["violations"] = []any{"TRAFFICKING"}
	in["perpetratorTypes"] = []any{"SMUGGLER_TRAFFICKER"}
	in["children"] = []any{map[string]any{"ageYears": 15, "sex": "FEMALE", "nationality": "SLV",
		"populationStatus": "MIGRANT_TRANSIT", "careStatus": "WITH_FAMILY"}} // routed to MP and PGN
	var sub struct {
		SubmitComplaint struct{ Complaint struct{ ID string } }
	}
	a.do(a.token("intake@igm.demo"), `mutation($in: SubmitComplaintInput!) { submitComplaint(input: $in) { complaint { id } } }`,
		map[string]any{"in": in}).decode(t, &sub)
	k := sub.SubmitComplaint.Complaint.ID
	about := func(got []inboxEntry, complaint, urgency string) bool {
		return len(got) == 1 && got[0].ComplaintID != nil && *got[0].ComplaintID == complaint &&
			(urgency == "" && got[0].Urgency == nil || got[0].Urgency != nil && *got[0].Urgency == urgency)
	}
	t.Run("ComplaintRoutedReachesTheReceivingInstitution", func(t *testing.T) {
		for _, email := range []string{"officer@pgn.demo", "supervisor@pgn.demo"} {
			if got := a.inbox(email, "COMPLAINT_ROUTED"); !about(got, k, "") {
				t.Errorf("%s: %+v", email, got)
			}
		}
		if got := a.inbox("officer@sbs.demo", "COMPLAINT_ROUTED"); len(got) != 0 {
			t.Errorf("officer@sbs.demo, not routed to: %+v", got)
		}
	})
	t.Run("TriageAlertsOnlyTheNewlyRouted", func(t *testing.T) {
		a.do(a.token("officer@pgn.demo"), `mutation($id: ID!) { acknowledgeComplaint(input: {complaintId: $id, expectedVersion: 1}) { complaint { id } } }`,
			map[string]any{"id": k}).decode(t, &struct{}{})
		a.do(a.token("officer@pgn.demo"), `mutation($id: ID!) { triageComplaint(input: {complaintId: $id, expectedVersion: 2, urgency: HIGH,
		  violations: ["TRAFFICKING"], routedTo: ["PGN", "SBS"]}) { complaint { id } } }`, map[string]any{"id": k}).decode(t, &struct{}{})
		if got := a.inbox("officer@sbs.demo", "COMPLAINT_ROUTED"); !about(got, k, "HIGH") {
			t.Errorf("officer@sbs.demo: %+v", got)
		}
		if got := a.inbox("supervisor@pgn.demo", "COMPLAINT_ROUTED"); len(got) != 1 {
			t.Errorf("supervisor@pgn.demo, already routed to: %d alerts, want the first only", len(got))
		}
	})
	id := a.fileCase("supervisor@pgn.demo", "alerts-assign-1")
	t.Run("CaseAssignedReachesTheAssignee", func(t *testing.T) {
		a.do(a.token("supervisor@pgn.demo"), `mutation($id: ID!) { assignCase(input: {caseId: $id, assigneeEmail: "officer@pgn.demo", expectedVersion: 1}) { case { id } } }`,
			map[string]any{"id": id}).decode(t, &struct{}{})
		if got := a.inbox("officer@pgn.demo", "CASE_ASSIGNED"); len(got) != 1 || got[0].CaseID == nil || *got[0].CaseID != id {
			t.Errorf("officer@pgn.demo: %+v", got)
		}
		if got := a.inbox("supervisor@pgn.demo", "CASE_ASSIGNED"); len(got) != 0 {
			t.Errorf("the supervisor who assigned: %+v", got)
		}
	})
	t.Run("ReferralsReachTheOtherSide", func(t *testing.T) {
		c := a.fileCase("officer@pgn.demo", "alerts-refer-1")
		rid := a.refer("officer@pgn.demo", referInput(c, "SBS", false))
		got := a.inbox("officer@sbs.demo", "REFERRAL_RECEIVED")
		if len(got) != 1 || got[0].CaseID == nil || *got[0].CaseID != c {
			t.Errorf("officer@sbs.demo, received: %+v", got)
		}
		if got := a.inbox("officer@pgn.demo", "REFERRAL_RECEIVED"); len(got) != 0 {
			t.Errorf("the referring officer: %+v", got)
		}
		a.respond("officer@sbs.demo", rid, false)
		if got := a.inbox("officer@pgn.demo", "REFERRAL_ANSWERED"); len(got) != 1 {
			t.Errorf("officer@pgn.demo, answered: %+v", got)
		}
		if got := a.inbox("supervisor@pgn.demo", "REFERRAL_ANSWERED"); len(got) != 1 {
			t.Errorf("supervisor@pgn.demo, answered: %+v", got)
		}
		if got := a.inbox("officer@sbs.demo", "REFERRAL_ANSWERED"); len(got) != 0 {
			t.Errorf("who answered: %+v", got)
		}
	})
	t.Run("ClosureRequestedReachesTheSupervisors", func(t *testing.T) {
		a.transition("officer@pgn.demo", id, "CLOSURE_REQUESTED", 2, `, closureReason: "OPENED_IN_ERROR"`)
		if got := a.inbox("supervisor@pgn.demo", "CLOSURE_REQUESTED"); len(got) != 1 || got[0].CaseID == nil || *got[0].CaseID != id {
			t.Errorf("supervisor@pgn.demo: %+v", got)
		}
		if got := a.inbox("officer@pgn.demo", "CLOSURE_REQUESTED"); len(got) != 0 {
			t.Errorf("the officer who asked: %+v", got)
		}
	})
}

// An operation sent over the websocket is bounded like one sent over HTTP:
// past the field limit it is refused before it is parsed.
func TestAlertsSubscriptionScreened(t *testing.T) {
	needNode(t)
	a := newTestApp(t)
	a.runAlerts()
	a.wsQuery = "subscription { alerts { " + strings.Repeat("id ", 600) + "} }"
	c := a.subscribe(t, "supervisor@pgn.demo", "")
	ev := c.next(t, 10*time.Second)
	for ev.Event == "connected" {
		ev = c.next(t, 10*time.Second)
	}
	if ev.Event != "error" || len(ev.Errors) == 0 || ev.Errors[0].Extensions.Code != "BAD_USER_INPUT" {
		t.Fatalf("an operation of 600 fields over the websocket: %+v, want BAD_USER_INPUT", ev)
	}
}
