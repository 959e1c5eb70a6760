// Package scim is Roster's SCIM 2.0 protocol code: the schema registry, the
// resource document model, the filter parser, the PATCH applier and attribute
// projection. It does no I/O; storage and HTTP packages build on it.
package scim

import "strings"

// Schema URNs used by the core resources and the protocol messages.
const (
	UserSchema        = "urn:ietf:params:scim:schemas:core:2.0:User"
	GroupSchema       = "urn:ietf:params:scim:schemas:core:2.0:Group"
	EnterpriseSchema  = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	ListResponseURN   = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	ErrorURN          = "urn:ietf:params:scim:api:messages:2.0:Error"
	PatchOpURN        = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SearchRequestURN  = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	SPConfigSchema    = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	ResourceTypeURN   = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SchemaURN         = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	MicrosoftGroupURN = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
)

// Attribute types of RFC 7643 §2.3.
const (
	TypeString    = "string"
	TypeBoolean   = "boolean"
	TypeDecimal   = "decimal"
	TypeInteger   = "integer"
	TypeDateTime  = "dateTime"
	TypeReference = "reference"
	TypeComplex   = "complex"
	TypeBinary    = "binary"
)

// Mutability and returned characteristics of RFC 7643 §7.
const (
	ReadOnly  = "readOnly"
	ReadWrite = "readWrite"
	Immutable = "immutable"
	WriteOnly = "writeOnly"

	ReturnedAlways  = "always"
	ReturnedNever   = "never"
	ReturnedDefault = "default"
	ReturnedRequest = "request"
)

// Attribute describes one attribute of a schema with the characteristics of
// RFC 7643 §7. The JSON form is what GET /Schemas returns.
type Attribute struct {
	Name            string       `json:"name"`
	Type            string       `json:"type"`
	MultiValued     bool         `json:"multiValued"`
	Description     string       `json:"description,omitempty"`
	Required        bool         `json:"required"`
	CanonicalValues []string     `json:"canonicalValues,omitempty"`
	CaseExact       bool         `json:"caseExact"`
	Mutability      string       `json:"mutability"`
	Returned        string       `json:"returned"`
	Uniqueness      string       `json:"uniqueness"`
	ReferenceTypes  []string     `json:"referenceTypes,omitempty"`
	SubAttributes   []*Attribute `json:"subAttributes,omitempty"`
}

// Sub returns the sub-attribute with the given name, matched
// case-insensitively as RFC 7643 §2.1 requires, or nil.
func (a *Attribute) Sub(name string) *Attribute {
	return findAttr(a.SubAttributes, name)
}

// Schema is a SCIM schema definition (RFC 7643 §7).
type Schema struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Attributes  []*Attribute `json:"attributes"`
}

// Attr returns the top-level attribute with the given name, matched
// case-insensitively, or nil.
func (s *Schema) Attr(name string) *Attribute {
	return findAttr(s.Attributes, name)
}

func findAttr(attrs []*Attribute, name string) *Attribute {
	for _, a := range attrs {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

// SchemaExtension names an extension schema of a resource type.
type SchemaExtension struct {
	Schema   string `json:"schema"`
	Required bool   `json:"required"`
}

// ResourceType describes one resource endpoint (RFC 7643 §6) together with
// the schemas it is made of.
type ResourceType struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Endpoint   string            `json:"endpoint"`
	Desc       string            `json:"description"`
	SchemaURN  string            `json:"schema"`
	Extensions []SchemaExtension `json:"schemaExtensions"`

	// Core and Ext are the resolved schemas; they are not serialised.
	Core *Schema   `json:"-"`
	Ext  []*Schema `json:"-"`
}

// Extension returns the extension schema with the given URN, compared
// case-insensitively, or nil.
func (rt *ResourceType) Extension(urn string) *Schema {
	for _, s := range rt.Ext {
		if strings.EqualFold(s.ID, urn) {
			return s
		}
	}
	return nil
}

// Resource type names.
const (
	UserType  = "User"
	GroupType = "Group"
)

// common attributes every resource has (RFC 7643 §3.1); they are answered by
// the store from columns, not from the document.
var (
	idAttr         = &Attribute{Name: "id", Type: TypeString, CaseExact: true, Mutability: ReadOnly, Returned: ReturnedAlways, Uniqueness: "server"}
	externalIDAttr = &Attribute{Name: "externalId", Type: TypeString, CaseExact: true, Mutability: ReadWrite, Returned: ReturnedDefault, Uniqueness: "none"}
	metaAttr       = &Attribute{Name: "meta", Type: TypeComplex, Mutability: ReadOnly, Returned: ReturnedDefault, Uniqueness: "none", SubAttributes: []*Attribute{
		str("resourceType", ReadOnly, true),
		{Name: "created", Type: TypeDateTime, Mutability: ReadOnly, Returned: ReturnedDefault, Uniqueness: "none"},
		{Name: "lastModified", Type: TypeDateTime, Mutability: ReadOnly, Returned: ReturnedDefault, Uniqueness: "none"},
		{Name: "location", Type: TypeReference, ReferenceTypes: []string{"uri"}, Mutability: ReadOnly, Returned: ReturnedDefault, Uniqueness: "none", CaseExact: true},
		str("version", ReadOnly, true),
	}}
	schemasAttr = &Attribute{Name: "schemas", Type: TypeReference, MultiValued: true, CaseExact: true, Mutability: ReadOnly, Returned: ReturnedAlways, Uniqueness: "none"}
)

// Common returns the common attribute (id, externalId, meta, schemas) with
// the given name, or nil.
func Common(name string) *Attribute {
	return findAttr([]*Attribute{idAttr, externalIDAttr, metaAttr, schemasAttr}, name)
}

func str(name, mutability string, caseExact bool) *Attribute {
	return &Attribute{Name: name, Type: TypeString, Mutability: mutability, Returned: ReturnedDefault, Uniqueness: "none", CaseExact: caseExact}
}

func boolean(name string) *Attribute {
	return &Attribute{Name: name, Type: TypeBoolean, Mutability: ReadWrite, Returned: ReturnedDefault, Uniqueness: "none"}
}

func multi(name string, subs ...*Attribute) *Attribute {
	return &Attribute{Name: name, Type: TypeComplex, MultiValued: true, Mutability: ReadWrite, Returned: ReturnedDefault, Uniqueness: "none", SubAttributes: subs}
}

func complexAttr(name string, subs ...*Attribute) *Attribute {
	return &Attribute{Name: name, Type: TypeComplex, Mutability: ReadWrite, Returned: ReturnedDefault, Uniqueness: "none", SubAttributes: subs}
}

func typed(canonical ...string) *Attribute {
	a := str("type", ReadWrite, false)
	a.CanonicalValues = canonical
	return a
}

// plural returns the usual sub-attributes of a multi-valued attribute:
// value, display, type and primary (RFC 7643 §2.4).
func plural(name string, valueType string, types ...string) *Attribute {
	value := str("value", ReadWrite, false)
	value.Type = valueType
	return multi(name, value, str("display", ReadWrite, false), typed(types...), boolean("primary"))
}

func ref(name string, types ...string) *Attribute {
	return &Attribute{Name: name, Type: TypeReference, ReferenceTypes: types, Mutability: ReadWrite, Returned: ReturnedDefault, Uniqueness: "none", CaseExact: true}
}

func newUserSchema() *Schema {
	userName := str("userName", ReadWrite, false)
	userName.Required, userName.Uniqueness = true, "server"
	password := str("password", WriteOnly, false)
	password.Returned = ReturnedNever
	groupsValue := str("value", ReadOnly, true)
	groups := multi("groups", groupsValue, ref("$ref", "User", "Group"), str("display", ReadOnly, false), typed("direct", "indirect"))
	groups.Mutability = ReadOnly
	for _, s := range groups.SubAttributes {
		s.Mutability = ReadOnly
	}
	return &Schema{ID: UserSchema, Name: "User", Description: "User Account", Attributes: []*Attribute{
		userName,
		complexAttr("name", str("formatted", ReadWrite, false), str("familyName", ReadWrite, false), str("givenName", ReadWrite, false),
			str("middleName", ReadWrite, false), str("honorificPrefix", ReadWrite, false), str("honorificSuffix", ReadWrite, false)),
		str("displayName", ReadWrite, false),
		str("nickName", ReadWrite, false),
		ref("profileUrl", "external"),
		str("title", ReadWrite, false),
		str("userType", ReadWrite, false),
		str("preferredLanguage", ReadWrite, false),
		str("locale", ReadWrite, false),
		str("timezone", ReadWrite, false),
		boolean("active"),
		password,
		plural("emails", TypeString, "work", "home", "other"),
		plural("phoneNumbers", TypeString, "work", "home", "mobile", "fax", "pager", "other"),
		plural("ims", TypeString, "aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
		plural("photos", TypeReference, "photo", "thumbnail"),
		multi("addresses", str("formatted", ReadWrite, false), str("streetAddress", ReadWrite, false), str("locality", ReadWrite, false),
			str("region", ReadWrite, false), str("postalCode", ReadWrite, false), str("country", ReadWrite, false), typed("work", "home", "other"), boolean("primary")),
		groups,
		plural("entitlements", TypeString),
		plural("roles", TypeString),
		plural("x509Certificates", TypeBinary),
	}}
}

func newEnterpriseSchema() *Schema {
	mgrValue := str("value", ReadWrite, true)
	mgrDisplay := str("displayName", ReadOnly, false)
	return &Schema{ID: EnterpriseSchema, Name: "EnterpriseUser", Description: "Enterprise User", Attributes: []*Attribute{
		str("employeeNumber", ReadWrite, false),
		str("costCenter", ReadWrite, false),
		str("organization", ReadWrite, false),
		str("division", ReadWrite, false),
		str("department", ReadWrite, false),
		complexAttr("manager", mgrValue, ref("$ref", "User"), mgrDisplay),
	}}
}

func newGroupSchema() *Schema {
	displayName := str("displayName", ReadWrite, false)
	displayName.Required, displayName.Uniqueness = true, "server"
	memberValue := str("value", Immutable, true)
	memberType := typed("User", "Group")
	memberType.Mutability = Immutable
	memberDisplay := str("display", ReadOnly, false)
	memberRef := ref("$ref", "User", "Group")
	memberRef.Mutability = Immutable
	return &Schema{ID: GroupSchema, Name: "Group", Description: "Group", Attributes: []*Attribute{
		displayName,
		multi("members", memberValue, memberRef, memberType, memberDisplay),
	}}
}

// Registry holds the schemas and resource types a directory serves. It is
// immutable after construction and safe for concurrent use.
type Registry struct {
	Schemas       []*Schema
	ResourceTypes []*ResourceType
}

// NewRegistry returns the registry of the RFC 7643 core User (with the
// enterprise extension) and Group resource types.
func NewRegistry() *Registry {
	user, ent, group := newUserSchema(), newEnterpriseSchema(), newGroupSchema()
	return &Registry{
		Schemas: []*Schema{user, ent, group},
		ResourceTypes: []*ResourceType{
			{ID: UserType, Name: UserType, Endpoint: "/Users", Desc: "User Account", SchemaURN: UserSchema,
				Extensions: []SchemaExtension{{Schema: EnterpriseSchema}}, Core: user, Ext: []*Schema{ent}},
			{ID: GroupType, Name: GroupType, Endpoint: "/Groups", Desc: "Group", SchemaURN: GroupSchema,
				Extensions: []SchemaExtension{}, Core: group},
		},
	}
}

// ResourceType returns the resource type with the given name
// (case-insensitive), or nil.
func (r *Registry) ResourceType(name string) *ResourceType {
	for _, rt := range r.ResourceTypes {
		if strings.EqualFold(rt.Name, name) {
			return rt
		}
	}
	return nil
}

// Schema returns the schema with the given URN (case-insensitive), or nil.
func (r *Registry) Schema(urn string) *Schema {
	for _, s := range r.Schemas {
		if strings.EqualFold(s.ID, urn) {
			return s
		}
	}
	return nil
}
