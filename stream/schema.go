package stream

import (
	"errors"
	"fmt"
)

// Field names and types one column of a Schema.
type Field struct {
	Name string
	Kind Kind
}

// Schema names the typed fields of events or records. A Schema is immutable
// once built and shared by all events that use it.
type Schema struct {
	name   string
	fields []Field
	index  map[string]int
}

// NewSchema builds a schema. Field names must be unique and non-empty.
func NewSchema(name string, fields ...Field) (*Schema, error) {
	s := &Schema{name: name, fields: append([]Field(nil), fields...), index: make(map[string]int, len(fields))}
	for i, f := range fields {
		if f.Name == "" {
			return nil, fmt.Errorf("schema %s: field %d has no name", name, i)
		}
		if _, dup := s.index[f.Name]; dup {
			return nil, fmt.Errorf("schema %s: field %q declared twice", name, f.Name)
		}
		s.index[f.Name] = i
	}
	if len(fields) == 0 {
		return nil, errors.New("schema " + name + ": no fields")
	}
	return s, nil
}

// MustSchema is NewSchema for package-level declarations of literal schemas;
// it panics on an invalid schema.
func MustSchema(name string, fields ...Field) *Schema {
	s, err := NewSchema(name, fields...)
	if err != nil {
		panic(err)
	}
	return s
}

// Name returns the schema's name.
func (s *Schema) Name() string { return s.name }

// Len returns the number of fields.
func (s *Schema) Len() int { return len(s.fields) }

// Field returns the i-th field.
func (s *Schema) Field(i int) Field { return s.fields[i] }

// Fields returns a copy of the fields.
func (s *Schema) Fields() []Field { return append([]Field(nil), s.fields...) }

// Index returns the position of the named field, or -1.
func (s *Schema) Index(name string) int {
	if i, ok := s.index[name]; ok {
		return i
	}
	return -1
}
