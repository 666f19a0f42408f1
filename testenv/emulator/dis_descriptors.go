package emulator

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Dump task destinations and their descriptors (DIS reference §5.5.1,
// §5.5.7-§5.5.10; DAYU §6.5).

const (
	disOBS        = "OBS"
	disDWS        = "DWS"
	disMRS        = "MRS"
	disDLI        = "DLI"
	disCloudTable = "CLOUDTABLE"
)

// disDestination canonicalises a destination_type. The 002 CloudTable
// samples send "CLOUDBASE" (DIS @2962, @3003) where the enumeration and the
// DAYU samples say CLOUDTABLE, so CLOUDBASE is accepted as an alias and
// stored and reported as CLOUDTABLE.
func disDestination(t string) (string, bool) {
	switch t {
	case disOBS, disDWS, disMRS, disDLI, disCloudTable:
		return t, true
	case "CLOUDBASE":
		return disCloudTable, true
	}
	return "", false
}

// disDescriptorKey is the request key of a destination's descriptor,
// e.g. obs_destination_descriptor.
func disDescriptorKey(dest string) string {
	return strings.ToLower(dest) + "_destination_descriptor"
}

// disDescriptionKeys are the keys a task's details echo its descriptor
// under: the request key, and the details table's names, which say
// "description" (DIS @2303) or misspell it (DAYU @8826-8832:
// dws_destination_descripton, cloudtable_destination_descripton; DAYU's
// "mrs_destination_descriptio n" is a line break in "description").
func disDescriptionKeys(dest string) []string {
	prefix := strings.ToLower(dest) + "_destination_"
	keys := []string{prefix + "descriptor", prefix + "description"}
	if dest == disDWS || dest == disCloudTable {
		keys = append(keys, prefix+"descripton")
	}
	return keys
}

// normaliseDISKeys renames the "clouhtable_" keys of the DAYU CloudTable
// samples (DAYU @9660-9690, a misprint of "cloudtable_") in place.
func normaliseDISKeys(m map[string]json.RawMessage) {
	for k, v := range m {
		if rest, ok := strings.CutPrefix(k, "clouhtable_"); ok {
			delete(m, k)
			if _, taken := m["cloudtable_"+rest]; !taken {
				m["cloudtable_"+rest] = v
			}
		}
	}
}

// disDescriptor has the fields of every destination's descriptor; a
// destination only looks at its own.
type disDescriptor struct {
	TaskName            string  `json:"task_name"`
	AgencyName          string  `json:"agency_name"`
	DeliverTimeInterval disFlex `json:"deliver_time_interval"`
	ConsumerStrategy    string  `json:"consumer_strategy"`
	RetryDuration       disFlex `json:"retry_duration"`
	FilePrefix          string  `json:"file_prefix"`
	OBSBucketPath       string  `json:"obs_bucket_path"`

	PartitionFormat     string               `json:"partition_format"`
	DestinationFileType string               `json:"destination_file_type"`
	ProcessingSchema    *disProcessingSchema `json:"processing_schema"`
	RecordDelimiter     *string              `json:"record_delimiter"`

	DWSClusterName  string         `json:"dws_cluster_name"`
	DWSClusterID    string         `json:"dws_cluster_id"`
	DWSDatabaseName string         `json:"dws_database_name"`
	DWSSchema       string         `json:"dws_schema"`
	DWSTableName    string         `json:"dws_table_name"`
	DWSDelimiter    string         `json:"dws_delimiter"`
	UserName        string         `json:"user_name"`
	UserPassword    string         `json:"user_password"`
	KMSUserKeyName  string         `json:"kms_user_key_name"`
	KMSUserKeyID    string         `json:"kms_user_key_id"`
	DWSTableColumns string         `json:"dws_table_columns"`
	Options         *disDWSOptions `json:"options"`

	MRSClusterName   string `json:"mrs_cluster_name"`
	MRSClusterID     string `json:"mrs_cluster_id"`
	MRSHDFSPath      string `json:"mrs_hdfs_path"`
	HDFSPrefixFolder string `json:"hdfs_prefix_folder"`

	DLIDatabaseName string `json:"dli_database_name"`
	DLITableName    string `json:"dli_table_name"`

	CloudTableClusterName     string               `json:"cloudtable_cluster_name"`
	CloudTableClusterID       string               `json:"cloudtable_cluster_id"`
	CloudTableTableName       string               `json:"cloudtable_table_name"`
	CloudTableSchema          *disCloudTableSchema `json:"cloudtable_schema"`
	OpenTSDBSchema            []disOpenTSDBSchema  `json:"opentsdb_schema"`
	CloudTableRowKeyDelimiter *string              `json:"cloudtable_row_key_delimiter"`
	OBSBackupBucketPath       string               `json:"obs_backup_bucket_path"`
	BackupFilePrefix          string               `json:"backup_file_prefix"`
}

type disProcessingSchema struct {
	TimestampName   string `json:"timestamp_name"`
	TimestampType   string `json:"timestamp_type"`
	TimestampFormat string `json:"timestamp_format"`
}

// disDWSOptions accepts the three spellings of the illegal-characters
// option: compatible_illegal_chars (002 and every sample),
// compatible_invalid_chars (DAYU request table @9285) and
// compatible_inlegal_chars (DAYU details table @8908).
type disDWSOptions struct {
	FillMissingFields      string  `json:"fill_missing_fields"`
	IgnoreExtraData        string  `json:"ignore_extra_data"`
	CompatibleIllegalChars string  `json:"compatible_illegal_chars"`
	CompatibleInvalidChars string  `json:"compatible_invalid_chars"`
	CompatibleInlegalChars string  `json:"compatible_inlegal_chars"`
	RejectLimit            disFlex `json:"reject_limit"`
	ErrorTableName         string  `json:"error_table_name"`
}

type disCloudTableSchema struct {
	RowKey []struct {
		Value string `json:"value"`
		Type  string `json:"type"`
	} `json:"row_key"`
	Columns []struct {
		ColumnFamilyName string `json:"column_family_name"`
		ColumnName       string `json:"column_name"`
		Value            string `json:"value"`
		Type             string `json:"type"`
	} `json:"columns"`
}

type disOpenTSDBSchema struct {
	Metric []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"metric"`
	Timestamp *struct {
		Type   string `json:"type"`
		Value  string `json:"value"`
		Format string `json:"format"`
	} `json:"timestamp"`
	Value *struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"value"`
	Tags []struct {
		Name  string `json:"name"`
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"tags"`
}

// Enumerations of the descriptor fields.
func disPartitionFormats() []string {
	return []string{"", "yyyy", "yyyy/MM", "yyyy/MM/dd", "yyyy/MM/dd/HH", "yyyy/MM/dd/HH/mm"}
}

func disTimestampFormats() []string {
	return []string{"yyyy/MM/dd HH:mm:ss", "MM/dd/yyyy HH:mm:ss", "dd/MM/yyyy HH:mm:ss",
		"yyyy-MM-dd HH:mm:ss", "MM-dd-yyyy HH:mm:ss", "dd-MM-yyyy HH:mm:ss"}
}

func disValueTypes() []string {
	return []string{"Bigint", "Double", "Boolean", "Timestamp", "String", "Decimal"}
}

// disTaskSpec is a validated dump task request.
type disTaskSpec struct {
	name, destination, strategy, fileType string
	deliverEvery                          time.Duration
	descriptor                            json.RawMessage // as sent, with the defaults filled in
}

// parseDISDescriptor validates a destination's descriptor and fills the
// documented defaults. deliver_time_interval is "mandatory" but the
// CloudTable samples leave it out, so it defaults to 300 s.
func parseDISDescriptor(dest string, raw json.RawMessage) (*disTaskSpec, *disErr) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, disErrorf(disInvalidRequest, "%s must be an object", disDescriptorKey(dest))
	}
	normaliseDISKeys(fields)
	normalised, _ := json.Marshal(fields) // a map of raw JSON values: cannot fail
	var desc disDescriptor
	if err := json.Unmarshal(normalised, &desc); err != nil {
		return nil, disErrorf(disInvalidRequest, "%s: %v", disDescriptorKey(dest), err)
	}
	defaults := map[string]any{}
	spec := &disTaskSpec{name: desc.TaskName, destination: dest, strategy: desc.ConsumerStrategy, deliverEvery: 300 * time.Second}

	d := desc.validateCommon(spec, defaults)
	if d == nil {
		switch dest {
		case disOBS:
			d = desc.validateOBS(spec, defaults)
		case disDWS:
			d = desc.validateDWS()
		case disMRS:
			d = desc.validateMRS()
		case disDLI:
			d = desc.validateDLI()
		case disCloudTable:
			d = desc.validateCloudTable(defaults)
		}
	}
	if d != nil {
		return nil, d
	}
	for k, v := range defaults {
		if _, set := fields[k]; !set {
			fields[k], _ = json.Marshal(v) // strings and numbers: cannot fail
		}
	}
	spec.descriptor, _ = json.Marshal(fields)
	return spec, nil
}

// disRange parses an optional integer field within [lo, hi].
func disRange(name string, v disFlex, lo, hi int) (int, *disErr) {
	n, err := strconv.Atoi(string(v))
	if err != nil || n < lo || n > hi {
		return 0, disErrorf(disInvalidRequest, "%s must be an integer in [%d, %d], got %q", name, lo, hi, v)
	}
	return n, nil
}

// validFilePrefix: at most 50 letters, digits, underscores and slashes,
// not starting with a slash.
func validFilePrefix(p string) bool {
	if len(p) > 50 || strings.HasPrefix(p, "/") {
		return false
	}
	for _, r := range p {
		if !(r == '_' || r == '/' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}

func (desc *disDescriptor) validateCommon(spec *disTaskSpec, defaults map[string]any) *disErr {
	if !validDISName(desc.TaskName, 64) {
		return disErrorf(disInvalidRequest, "task_name must have 1 to 64 letters, digits, underscores or hyphens, got %q", desc.TaskName)
	}
	if desc.AgencyName == "" || len(desc.AgencyName) > 64 {
		return disErrorf(disInvalidRequest, "agency_name is mandatory and has at most 64 characters, got %q", desc.AgencyName)
	}
	if desc.DeliverTimeInterval == "" {
		defaults["deliver_time_interval"] = 300
	} else {
		n, d := disRange("deliver_time_interval", desc.DeliverTimeInterval, 30, 900)
		if d != nil {
			return d
		}
		spec.deliverEvery = time.Duration(n) * time.Second
	}
	switch desc.ConsumerStrategy {
	case "":
		spec.strategy = "LATEST"
		defaults["consumer_strategy"] = "LATEST"
	case "LATEST", "TRIM_HORIZON":
	default:
		return disErrorf(disInvalidRequest, "consumer_strategy must be LATEST or TRIM_HORIZON, got %q", desc.ConsumerStrategy)
	}
	if desc.RetryDuration == "" {
		defaults["retry_duration"] = 1800
	} else if _, d := disRange("retry_duration", desc.RetryDuration, 0, 7200); d != nil {
		return d
	}
	if !validFilePrefix(desc.FilePrefix) {
		return disErrorf(disInvalidRequest, "file_prefix must have at most 50 letters, digits, underscores or slashes and not start with a slash, got %q", desc.FilePrefix)
	}
	return nil
}

func (desc *disDescriptor) validateOBS(spec *disTaskSpec, defaults map[string]any) *disErr {
	if d := disCheckRequired("obs_bucket_path", desc.OBSBucketPath); d != nil {
		return d
	}
	if desc.RetryDuration == "" {
		// OBS has no retry setting; its details sample shows 0 (DIS @2313).
		defaults["retry_duration"] = 0
	}
	if !slices.Contains(disPartitionFormats(), desc.PartitionFormat) {
		return disErrorf(disInvalidRequest, "partition_format must be empty or one of %s, got %q",
			strings.Join(disPartitionFormats()[1:], ", "), desc.PartitionFormat)
	}
	// text is the 002 value; DAYU adds parquet and carbon for JSON streams.
	switch desc.DestinationFileType {
	case "":
		desc.DestinationFileType = "text"
		defaults["destination_file_type"] = "text"
	case "text", "parquet", "carbon":
	default:
		return disErrorf(disInvalidRequest, "destination_file_type must be text, parquet or carbon, got %q", desc.DestinationFileType)
	}
	spec.fileType = desc.DestinationFileType
	if desc.RecordDelimiter == nil {
		// The text says comma is the default, the schema says \n (DIS @2052).
		defaults["record_delimiter"] = "\n"
	} else if !slices.Contains([]string{",", ";", "|", "\n"}, *desc.RecordDelimiter) {
		return disErrorf(disInvalidRequest, `record_delimiter must be ",", ";", "|" or "\n", got %q`, *desc.RecordDelimiter)
	}
	if ps := desc.ProcessingSchema; ps != nil {
		switch {
		case ps.TimestampName == "":
			return disErrorf(disInvalidRequest, "processing_schema.timestamp_name is mandatory")
		case ps.TimestampType != "String" && ps.TimestampType != "Timestamp":
			return disErrorf(disInvalidRequest, "processing_schema.timestamp_type must be String or Timestamp, got %q", ps.TimestampType)
		case ps.TimestampType == "String" && !slices.Contains(disTimestampFormats(), ps.TimestampFormat),
			ps.TimestampFormat != "" && !slices.Contains(disTimestampFormats(), ps.TimestampFormat):
			return disErrorf(disInvalidRequest, "processing_schema.timestamp_format must be one of %s, got %q",
				strings.Join(disTimestampFormats(), ", "), ps.TimestampFormat)
		}
	}
	return nil
}

// validateDWS accepts an empty dws_delimiter: the sample sends "" (DIS
// @2605) although the field is mandatory.
func (desc *disDescriptor) validateDWS() *disErr {
	if d := disCheckRequired("dws_cluster_name", desc.DWSClusterName, "dws_cluster_id", desc.DWSClusterID,
		"dws_database_name", desc.DWSDatabaseName, "dws_schema", desc.DWSSchema, "dws_table_name", desc.DWSTableName,
		"user_name", desc.UserName, "user_password", desc.UserPassword, "kms_user_key_name", desc.KMSUserKeyName,
		"kms_user_key_id", desc.KMSUserKeyID, "obs_bucket_path", desc.OBSBucketPath); d != nil {
		return d
	}
	if !slices.Contains([]string{"", ",", ";", "|"}, desc.DWSDelimiter) {
		return disErrorf(disInvalidRequest, `dws_delimiter must be ",", ";" or "|", got %q`, desc.DWSDelimiter)
	}
	if o := desc.Options; o != nil {
		for _, opt := range []struct{ name, value string }{
			{"fill_missing_fields", o.FillMissingFields},
			{"ignore_extra_data", o.IgnoreExtraData},
			{"compatible_illegal_chars", o.CompatibleIllegalChars},
			{"compatible_invalid_chars", o.CompatibleInvalidChars},
			{"compatible_inlegal_chars", o.CompatibleInlegalChars},
		} {
			if !slices.Contains([]string{"", "true", "on", "false", "off"}, opt.value) {
				return disErrorf(disInvalidRequest, "options.%s must be true, on, false or off, got %q", opt.name, opt.value)
			}
		}
		if rl := string(o.RejectLimit); rl != "" && rl != "unlimited" {
			if n, err := strconv.Atoi(rl); err != nil || n < 0 {
				return disErrorf(disInvalidRequest, "options.reject_limit must be a non-negative integer or unlimited, got %q", rl)
			}
		}
	}
	return nil
}

func (desc *disDescriptor) validateMRS() *disErr {
	if d := disCheckRequired("mrs_cluster_name", desc.MRSClusterName, "mrs_cluster_id", desc.MRSClusterID,
		"mrs_hdfs_path", desc.MRSHDFSPath, "obs_bucket_path", desc.OBSBucketPath); d != nil {
		return d
	}
	if len(desc.HDFSPrefixFolder) > 50 {
		return disErrorf(disInvalidRequest, "hdfs_prefix_folder must have at most 50 characters")
	}
	// Not in the MRS table, but the MRS sample sends it (DIS @2727).
	if desc.DestinationFileType != "" && desc.DestinationFileType != "text" {
		return disErrorf(disInvalidRequest, "destination_file_type must be text for MRS, got %q", desc.DestinationFileType)
	}
	return nil
}

func (desc *disDescriptor) validateDLI() *disErr {
	return disCheckRequired("dli_database_name", desc.DLIDatabaseName, "dli_table_name", desc.DLITableName,
		"obs_bucket_path", desc.OBSBucketPath)
}

// validateCloudTable wants exactly one of cloudtable_schema (HBase) and
// opentsdb_schema (OpenTSDB).
func (desc *disDescriptor) validateCloudTable(defaults map[string]any) *disErr {
	if d := disCheckRequired("cloudtable_cluster_name", desc.CloudTableClusterName, "cloudtable_cluster_id", desc.CloudTableClusterID); d != nil {
		return d
	}
	if desc.CloudTableRowKeyDelimiter == nil {
		defaults["cloudtable_row_key_delimiter"] = "."
	} else if !slices.Contains([]string{",", ".", "|", ";", `\`, "-", "_", "~"}, *desc.CloudTableRowKeyDelimiter) {
		return disErrorf(disInvalidRequest, `cloudtable_row_key_delimiter must be one of , . | ; \ - _ ~, got %q`, *desc.CloudTableRowKeyDelimiter)
	}
	if len(desc.BackupFilePrefix) > 50 {
		return disErrorf(disInvalidRequest, "backup_file_prefix must have at most 50 characters")
	}
	switch hbase, tsdb := desc.CloudTableSchema != nil, len(desc.OpenTSDBSchema) > 0; {
	case hbase && tsdb:
		return disErrorf(disInvalidRequest, "set either cloudtable_schema or opentsdb_schema, not both")
	case hbase:
		return desc.validateHBase()
	case tsdb:
		return desc.validateOpenTSDB()
	default:
		return disErrorf(disBadHBaseSchema, "cloudtable_schema (HBase) or opentsdb_schema (OpenTSDB) is mandatory")
	}
}

func validColumnName(s string) bool {
	return validDISName(s, 32) && !strings.Contains(s, "-")
}

func (desc *disDescriptor) validateHBase() *disErr {
	if desc.CloudTableTableName == "" {
		return disErrorf(disInvalidRequest, "cloudtable_table_name is mandatory with cloudtable_schema")
	}
	cs := desc.CloudTableSchema
	if n := len(cs.RowKey); n < 1 || n > 64 {
		return disErrorf(disBadHBaseSchema, "row_key must have 1 to 64 entries, got %d", n)
	}
	for _, k := range cs.RowKey {
		if k.Value == "" || !slices.Contains(disValueTypes(), k.Type) {
			return disErrorf(disBadHBaseSchema, "row_key entries need a value and a type among %s, got %q/%q",
				strings.Join(disValueTypes(), ", "), k.Value, k.Type)
		}
	}
	if n := len(cs.Columns); n < 1 || n > 4096 {
		return disErrorf(disBadHBaseSchema, "columns must have 1 to 4096 entries, got %d", n)
	}
	for _, c := range cs.Columns {
		if c.ColumnFamilyName == "" || !validColumnName(c.ColumnName) || c.Value == "" || !slices.Contains(disValueTypes(), c.Type) {
			return disErrorf(disBadHBaseSchema, "column %q/%q needs a family, a 1-32 character name of letters, digits or underscores, a value and a type among %s",
				c.ColumnFamilyName, c.ColumnName, strings.Join(disValueTypes(), ", "))
		}
	}
	return nil
}

func (desc *disDescriptor) validateOpenTSDB() *disErr {
	for i, s := range desc.OpenTSDBSchema {
		bad := func(format string, args ...any) *disErr {
			return disErrorf(disBadOpenTSDBSchema, "opentsdb_schema[%d]: "+format, append([]any{i}, args...)...)
		}
		if len(s.Metric) == 0 {
			return bad("metric is mandatory")
		}
		for _, m := range s.Metric {
			if (m.Type != "Constant" && m.Type != "String") || m.Value == "" || len(m.Value) > 32 {
				return bad("metric entries need a type Constant or String and a 1-32 character value, got %q/%q", m.Type, m.Value)
			}
		}
		ts := s.Timestamp
		switch {
		case ts == nil:
			return bad("timestamp is mandatory")
		case ts.Type != "Timestamp" && ts.Type != "String":
			return bad("timestamp.type must be Timestamp or String, got %q", ts.Type)
		case ts.Value == "":
			return bad("timestamp.value is mandatory")
		case ts.Type == "String" && !slices.Contains(disTimestampFormats(), ts.Format):
			return bad("timestamp.format must be one of %s with type String, got %q", strings.Join(disTimestampFormats(), ", "), ts.Format)
		}
		if s.Value == nil || s.Value.Value == "" || !slices.Contains(disValueTypes(), s.Value.Type) {
			return bad("value needs a value and a type among %s", strings.Join(disValueTypes(), ", "))
		}
		if len(s.Tags) == 0 {
			return bad("tags is mandatory")
		}
		for _, t := range s.Tags {
			if t.Name == "" || t.Value == "" || !slices.Contains(disValueTypes(), t.Type) {
				return bad("tags entries need a name, a value and a type among %s, got %q/%q/%q",
					strings.Join(disValueTypes(), ", "), t.Name, t.Value, t.Type)
			}
		}
	}
	return nil
}
