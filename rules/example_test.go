package rules_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/rulestream/rulestream/rules"
	"github.com/rulestream/rulestream/stream"
)

// A login-security job: login events, joined with the user's account.
var (
	loginSchema = stream.MustSchema("login",
		stream.Field{Name: "login_id", Kind: stream.KindInt},
		stream.Field{Name: "user", Kind: stream.KindString},
		stream.Field{Name: "ip", Kind: stream.KindString},
		stream.Field{Name: "ok", Kind: stream.KindBool},
		stream.Field{Name: "time", Kind: stream.KindTime},
	)
	accountSchema = stream.MustSchema("account",
		stream.Field{Name: "plan", Kind: stream.KindString},
		stream.Field{Name: "admin", Kind: stream.KindBool},
	)
)

// loginEnv declares the login events, the account join and a count-within
// window "failures" (failed logins of a user).
func loginEnv() *rules.Env {
	env, err := rules.NewEnv(rules.EnvConfig{
		EventSchema: loginSchema,
		Joins:       []rules.Join{{Name: "account", Schema: accountSchema}},
		Windows:     []rules.WindowDecl{{Name: "failures", Kind: "count_within"}},
		Targets:     []string{"alerts", "audit"},
	})
	if err != nil {
		panic(err)
	}
	return env
}

const loginRules = `version: login-1
rules:
  - name: admin_login
    description: every successful login to an admin account
    when: account.admin && event.ok
    target: audit
    payload: '{"plan": account.plan}'
  - name: brute_force
    window: failures
    when: window.count >= 5
    target: alerts
    cooldown: 1h
`

// login builds a login event joined with its account.
func login(id int64, user, ip string, ok bool, at time.Time, admin bool) stream.Event {
	ev := stream.Event{Key: user, Time: at.UnixNano(), Schema: loginSchema,
		Fields: []stream.Value{stream.Int(id), stream.String(user), stream.String(ip), stream.Bool(ok), stream.Time(at)}}
	ev.SetJoin("account", &stream.Record{Schema: accountSchema, Values: []stream.Value{stream.String("pro"), stream.Bool(admin)}})
	return ev
}

func ExampleEngine() {
	set, err := loginEnv().Load("login.yaml", []byte(loginRules))
	if err != nil {
		panic(err)
	}
	en, err := rules.NewEngine(set, rules.EngineConfig{IDField: "login_id", Explain: true})
	if err != nil {
		panic(err)
	}
	t := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	in := []stream.Event{
		login(1, "ann", "10.0.0.1", true, t, true),  // admin login: audited
		login(2, "bob", "10.0.0.2", true, t, false), // not an admin
		login(3, "ann", "10.0.0.1", false, t, true), // failed: not audited
		login(4, "ann", "10.0.0.9", true, t, true),  // audited again (no cooldown)
	}
	var out stream.Emitter
	if err := en.Process(context.Background(), in, &out); err != nil {
		panic(err)
	}
	for _, e := range out.Events() {
		fmt.Println(e.Target, e.ID, e.Get("ip").Str(), e.Get("plan").Str(), e.Get("explain").Str())
	}
	// Output:
	// audit admin_login:ann:1 10.0.0.1 pro {"rule":"admin_login","version":"login-1","values":{"account.admin":true,"event.ok":true}}
	// audit admin_login:ann:4 10.0.0.9 pro {"rule":"admin_login","version":"login-1","values":{"account.admin":true,"event.ok":true}}
}

func ExampleEnv_Load() {
	_, err := loginEnv().Load("rules.yaml", []byte(`rules:
  - name: admin_login
    when: account.admni && event.ok
    target: audit
  - name: typo
    when: event.ok
    target: alert
`))
	fmt.Println(err)
	// Output:
	// rules.yaml:3:18: rule "admin_login": when: undefined field 'admni'
	//  | account.admni && event.ok
	//  | .......^
	// rules.yaml:7:13: rule "typo": target: unknown target "alert" (declared: alerts, audit)
}

func ExampleBacktest() {
	set, err := loginEnv().Load("login.yaml", []byte(loginRules))
	if err != nil {
		panic(err)
	}
	t := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	src := stream.NewSliceSource("history", []stream.Event{
		login(1, "ann", "10.0.0.1", true, t, true), login(2, "bob", "10.0.0.2", true, t.Add(time.Minute), true),
		login(3, "cy", "10.0.0.3", true, t.Add(2*time.Minute), false),
	}, 0)
	rep, err := rules.Backtest(context.Background(), set, src, rules.BacktestConfig{Samples: 1, Engine: rules.EngineConfig{IDField: "login_id"}})
	if err != nil {
		panic(err)
	}
	_ = rep.Format(os.Stdout)
	// Output:
	// backtest of rule set login-1 over 3 events
	// rule         target  firings  keys  suppressed  skipped  errors
	// admin_login  audit   2        2     0           0        0
	// brute_force  alerts  0        0     0           0        0
	//   admin_login admin_login:ann:1 2026-10-01T09:00:00Z login_id=1 user=ann ip=10.0.0.1 ok=1 time=2026-10-01T09:00:00Z plan=pro
}
