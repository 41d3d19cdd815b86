package app

import (
	"slices"
	"testing"
	"time"
)

func TestClosestCommands(t *testing.T) {
	commands := []string{"list", "backup", "generate", "add", "remove", "verify", "doctor", "setup", "rotate"}
	for name, want := range map[string][]string{
		"verfy":    {"verify"},
		"vreify":   {"verify"},
		"genrate":  {"generate"},
		"lst":      {"list"},
		"ad":       {"add"},
		"ro":       {"rotate"},
		"remvoe":   {"remove"},
		"docter":   {"doctor"},
		"VERIFY":   {"verify"},
		"x":        nil,
		"frobnify": nil,
	} {
		if got := closestCommands(name, commands); !slices.Equal(got, want) {
			t.Errorf("closestCommands(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestDurationValue(t *testing.T) {
	v := &durationValue{d: 15 * time.Second}
	if v.String() != "15s" {
		t.Errorf("default shows %q", v.String())
	}
	if err := v.Set("5"); err == nil || err.Error() != "use a unit, e.g. 5s" {
		t.Errorf("bare number: %v", err)
	}
	if err := v.Set("soon"); err == nil {
		t.Error("soon: no error")
	}
	if err := v.Set("2m"); err != nil || v.d != 2*time.Minute || v.String() != "2m0s" {
		t.Errorf("2m: %v, %v", err, v.d)
	}
	if (&durationValue{}).String() != "" {
		t.Error("no default shows as something")
	}
}

func TestFlagMessage(t *testing.T) {
	for in, want := range map[string]string{
		"flag provided but not defined: -nope":                 "flag provided but not defined: --nope",
		"flag provided but not defined: -v":                    "flag provided but not defined: -v",
		`invalid value "5" for flag -timeout: use a unit`:      `invalid value "5" for flag --timeout: use a unit`,
		`invalid boolean value "x" for -json: parse error`:     `invalid boolean value "x" for --json: parse error`,
		`invalid value "-5s" for flag -timeout: must be -more`: `invalid value "-5s" for flag --timeout: must be -more`,
	} {
		if got := flagMessage(in); got != want {
			t.Errorf("flagMessage(%q) = %q, want %q", in, got, want)
		}
	}
}
