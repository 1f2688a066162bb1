alter function private.is_valid_timezone(text) parallel safe;
