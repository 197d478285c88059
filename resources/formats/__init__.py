"""The registry's file formats: canonical YAML, a CSV spreadsheet for members, HSDS 3.1 JSON."""
