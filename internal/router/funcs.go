package router

import "strings"

// CallsUnsafeFunction reports whether a statement's digest calls a function
// that is not known to be free of side effects: GET_LOCK, SLEEP, NEXTVAL,
// LAST_INSERT_ID(expr), a stored function (any name not in safeFunctions,
// any qualified or quoted name)... Such a SELECT must not be run twice, so
// it is never retried on another connection after a failure.
func CallsUnsafeFunction(digest string) bool {
	for i := 0; i < len(digest); i++ {
		if digest[i] != '(' {
			continue
		}
		j := i
		for j > 0 && (digest[j-1] == ' ' || digest[j-1] == '\t' || digest[j-1] == '\n') {
			j--
		}
		end := j
		for j > 0 && isNameByte(digest[j-1]) {
			j--
		}
		if j == end {
			if j > 0 && digest[j-1] == '`' {
				return true // `name`(...): a user-defined or stored function
			}
			continue // a parenthesis that follows an operator or another '('
		}
		if j > 0 && (digest[j-1] == '.' || digest[j-1] == '`') {
			return true // db.func(...) or `db`.func(...): a stored function
		}
		if !safeFunctions[strings.ToLower(digest[j:end])] {
			return true
		}
	}
	return false
}

func isNameByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// safeFunctions are built-in functions without side effects, and the
// keywords that a parenthesis follows (IN (...), AND (...), VALUES (...)).
var safeFunctions = map[string]bool{}

func init() {
	for _, f := range strings.Fields(`
abs acos adddate addtime aes_decrypt aes_encrypt any_value ascii asin atan atan2 avg bin bit_and
bit_count bit_length bit_or bit_xor cast ceil ceiling char char_length character_length coalesce
concat concat_ws connection_id conv convert convert_tz cos cot count crc32 curdate current_date
current_time current_timestamp current_user curtime database date date_add date_format date_sub
datediff day dayname dayofmonth dayofweek dayofyear degrees elt exp extract field find_in_set floor
format found_rows from_base64 from_days from_unixtime greatest group_concat hex hour if ifnull
inet_aton inet_ntoa inet6_aton inet6_ntoa insert instr isnull json_array json_arrayagg
json_contains json_extract json_keys json_length json_object json_objectagg json_quote
json_unquote json_valid last_day lcase least left length ln locate log log10 log2 lower lpad ltrim
make_set makedate maketime max md5 microsecond mid min minute mod month monthname now nullif oct
octet_length ord period_add period_diff pi position pow power quarter quote radians rand
regexp_instr regexp_replace regexp_substr repeat replace reverse right round row_count rpad rtrim
schema sec_to_time second session_user sha sha1 sha2 sign sin space sqrt std stddev stddev_pop
stddev_samp str_to_date strcmp subdate substr substring substring_index subtime sum sysdate
system_user tan time time_format time_to_sec timediff timestamp timestampadd timestampdiff
to_base64 to_days to_seconds trim truncate ucase unhex unix_timestamp upper user utc_date utc_time
utc_timestamp uuid uuid_short var_pop var_samp variance version week weekday weekofyear year
yearweek row_number rank dense_rank lag lead first_value last_value nth_value ntile percent_rank
cume_dist
in exists values select from where and or not xor on using any all some as join when then else
over partition by like between is union distinct interval limit having group order with`) {
		safeFunctions[f] = true
	}
}
