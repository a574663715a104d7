"""The Grocy-compatible API of the node (``/grocy/api/...``): see docs/grocy-compatibility.md."""
