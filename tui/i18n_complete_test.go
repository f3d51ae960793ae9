package tui

import (
	"regexp"
	"sort"
	"testing"
)

// TestCatalogsComplete fails when a string lacks a language: every English
// key must be in zh-cn and ja_JP, with the same format verbs in the same
// order, and no language may have a key English lacks (a stale one).
func TestCatalogsComplete(t *testing.T) {
	verbs := regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)
	en := catalogs[LangEnglish]
	for _, lang := range []string{LangChinese, LangJapanese} {
		cat := catalogs[lang]
		var missing, stale []string
		for k, v := range en {
			tr, ok := cat[k]
			if !ok {
				missing = append(missing, k)
				continue
			}
			if a, b := verbs.FindAllString(v, -1), verbs.FindAllString(tr, -1); !equalStrings(a, b) {
				t.Errorf("%s %q: format verbs %v, English has %v", lang, k, b, a)
			}
		}
		for k := range cat {
			if _, ok := en[k]; !ok {
				stale = append(stale, k)
			}
		}
		sort.Strings(missing)
		sort.Strings(stale)
		if len(missing) > 0 {
			t.Errorf("%s lacks %d strings: %v", lang, len(missing), missing)
		}
		if len(stale) > 0 {
			t.Errorf("%s has strings English lacks: %v", lang, stale)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
