"""The filing dialogue: forms, validators for what users type, and the province/suffix rules."""
