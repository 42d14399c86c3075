package packet

import "strings"

// MatchTopic reports whether a topic name matches a topic filter with the
// + (one level) and # (this and every lower level) wildcards. Topics that
// start with $ match only filters that spell the $ out.
func MatchTopic(filter, topic string) bool {
	if strings.HasPrefix(topic, "$") && !strings.HasPrefix(filter, "$") {
		return false
	}
	for {
		fl, frest, fmore := strings.Cut(filter, "/")
		tl, trest, tmore := strings.Cut(topic, "/")
		switch {
		case fl == "#":
			return true
		case fl == "+" || fl == tl:
		default:
			return false
		}
		if !fmore && !tmore {
			return true
		}
		if !tmore {
			// "a/#" matches "a" too.
			return fmore && frest == "#"
		}
		if !fmore {
			return false
		}
		filter, topic = frest, trest
	}
}

// FilterWithin reports whether every topic a subscription filter sub can
// match is also matched by the allowed filter: what a subscribe ACL asks.
func FilterWithin(allowed, sub string) bool {
	if strings.HasPrefix(sub, "$") && !strings.HasPrefix(allowed, "$") {
		return false
	}
	for {
		al, arest, amore := strings.Cut(allowed, "/")
		sl, srest, smore := strings.Cut(sub, "/")
		switch {
		case al == "#":
			return true
		case sl == "#":
			return false // sub reaches deeper than allowed can
		case al == "+":
		case sl == "+" || al != sl:
			return false
		}
		if !amore && !smore {
			return true
		}
		if !smore {
			return amore && arest == "#"
		}
		if !amore {
			return false
		}
		allowed, sub = arest, srest
	}
}
