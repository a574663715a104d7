"""Home Assistant through MQTT discovery: the household and every node as devices."""
