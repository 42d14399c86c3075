package decode

import (
	"reflect"
	"strings"
	"sync"
)

// structInfo maps the lower-cased key names of a struct to its fields.
type structInfo struct {
	byLower map[string]fieldInfo
	names   []string // canonical names, for suggestions
}

type fieldInfo struct {
	name  string // as in the json tag
	index []int
}

var structCache sync.Map // reflect.Type -> *structInfo

func structInfoOf(t reflect.Type) *structInfo {
	if v, ok := structCache.Load(t); ok {
		return v.(*structInfo)
	}
	info := &structInfo{byLower: map[string]fieldInfo{}}
	collectFields(t, nil, info)
	v, _ := structCache.LoadOrStore(t, info)
	return v.(*structInfo)
}

// collectFields adds t's own fields first, then those of embedded structs
// that are not shadowed, as encoding/json does.
func collectFields(t reflect.Type, prefix []int, info *structInfo) {
	var embedded []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, f)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		lower := strings.ToLower(name)
		if _, dup := info.byLower[lower]; dup {
			continue
		}
		index := append(append([]int(nil), prefix...), i)
		info.byLower[lower] = fieldInfo{name: name, index: index}
		info.names = append(info.names, name)
	}
	for _, f := range embedded {
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		collectFields(ft, append(append([]int(nil), prefix...), f.Index...), info)
	}
}
