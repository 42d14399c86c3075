package metrics

import (
	"testing"

	"github.com/guan-gateway/guan/config/static"
)

func TestMQTTSeriesPruned(t *testing.T) {
	m := New(&static.Prometheus{})
	ev := m.MQTT()
	ev.Connect("mqtt", "old@file", "accepted")
	ev.Connect("mqtt", "kept@file", "accepted")
	ev.Denied("old@file", "acl@file", "publish")
	ev.Traffic("old@file").MessagesIn.Add(3)
	m.Prune(Live{MQTTRouters: map[string]bool{"kept@file": true}})
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]int{}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "guan_mqtt_connects_total", "guan_mqtt_denied_total", "guan_mqtt_messages_total":
			left[mf.GetName()] = len(mf.GetMetric())
		}
	}
	if left["guan_mqtt_connects_total"] != 1 || left["guan_mqtt_denied_total"] != 0 || left["guan_mqtt_messages_total"] != 0 {
		t.Fatalf("series left after pruning old@file: %v", left)
	}
}
