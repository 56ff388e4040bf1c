package request

import "testing"

func TestLang(t *testing.T) {
	for header, want := range map[string]string{
		"":                          "es",
		"en":                        "en",
		"en-US,en;q=0.9":            "en",
		"es-GT,es;q=0.9,en;q=0.8":   "es",
		"fr-FR,en;q=0.5":            "en",
		"en;q=0.2,es;q=0.8":         "es",
		"de":                        "es",
		"EN-gb":                     "en",
		"en;q=0,es;q=0.001":         "es",
		"garbage;;;q=x,en;q=banana": "en",
	} {
		if got := Lang(header); got != want {
			t.Errorf("Lang(%q) = %q, want %q", header, got, want)
		}
	}
}
