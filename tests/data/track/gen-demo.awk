# gen-demo.awk: a made-up day of two vans around a depot, for the picture
# in the README (scripts/track-picture).  awk -f gen-demo.awk > demo.jsonl
function rec(id, t, lat, lon, kn, crs, alarm,   a) {
	a = alarm != "" ? ",\"alarm\":\"" alarm "\"" : ""
	printf "{\"type\":\"position\",\"protocol\":\"gps103\",\"uniqueId\":\"%s\",\"fixTime\":\"%s\",\"valid\":true,\"latitude\":%.6f,\"longitude\":%.6f,\"speed\":%.1f,\"course\":%.1f,\"attributes\":{\"sat\":8%s}}\n", id, ts(t), lat, lon, kn, crs, a
}
function ts(t,   h, m, s) {
	h = int(t / 3600); m = int((t % 3600) / 60); s = t % 60
	return sprintf("2026-11-23T%02d:%02d:%02d.000Z", h, m, s)
}
function fence(id, t, kind, name, lat, lon) {
	printf "{\"type\":\"%s\",\"uniqueId\":\"%s\",\"geofence\":\"%s\",\"position\":{\"fixTime\":\"%s\",\"latitude\":%.6f,\"longitude\":%.6f}}\n", kind, id, name, ts(t), lat, lon
}
# drive id from the current place through the listed points at kmh,
# a fix every 30 s
function drive(id, pts, kmh,   n, i, k, la, lo, d, steps, s, dla, dlo, crs) {
	n = split(pts, P, " ")
	for (i = 1; i <= n; i++) {
		split(P[i], q, ",")
		la = q[1]; lo = q[2]
		dla = (la - LAT) * 111195; dlo = (lo - LON) * 111195 * cos(LAT * 3.14159265 / 180)
		d = sqrt(dla * dla + dlo * dlo)
		steps = int(d / (kmh / 3.6 * 30)) + 1
		crs = atan2(dlo, dla) * 180 / 3.14159265; if (crs < 0) crs += 360
		la0 = LAT; lo0 = LON
		for (s = 1; s <= steps; s++) {
			T += 30
			LAT = la0 + (la - la0) * s / steps; LON = lo0 + (lo - lo0) * s / steps
			rec(id, T, LAT + 0.00004 * sin(T), LON + 0.00004 * cos(T), kmh / 1.852 * (0.8 + 0.2 * sin(T / 90.0)), crs, "")
		}
	}
}
function park(id, secs,   e) {
	for (e = T + 60; e <= T + secs; e += 60)
		rec(id, e, LAT, LON, 0, 0, "")
	T += secs
}
BEGIN {
	# van 1: depot -> customer north-east -> a no-go zone -> back
	id = "359586015829802"; T = 7 * 3600; LAT = 52.3700; LON = 4.8800
	park(id, 600)
	fence(id, T + 30, "geofenceExit", "Depot", 52.3712, 4.8822)
	drive(id, "52.3720,4.8900 52.3790,4.9000 52.3850,4.9150 52.3900,4.9300", 40)
	fence(id, T, "geofenceEnter", "Customer Noord", LAT, LON)
	park(id, 1500)
	fence(id, T + 30, "geofenceExit", "Customer Noord", 52.3895, 4.9290)
	drive(id, "52.3820,4.9350 52.3740,4.9300", 50)
	rec(id, T + 15, 52.3735, 4.9290, 55, 200, "overspeed")
	fence(id, T + 20, "geofenceEnter", "No-go & toll zone", 52.3735, 4.9290)
	drive(id, "52.3660,4.9200 52.3620,4.9050", 45)
	rec(id, T + 10, 52.4600, 4.7000, 40, 0, "")	# a GPS jump, dropped
	drive(id, "52.3640,4.8900 52.3690,4.8810 52.3700,4.8800", 35)
	fence(id, T, "geofenceEnter", "Depot", 52.3700, 4.8800)
	park(id, 900)
	# van 2: a loop to the west with an SOS on the way
	id = "TK103 <van 2>"; T = 7 * 3600 + 1200; LAT = 52.3705; LON = 4.8790
	park(id, 420)
	fence(id, T + 30, "geofenceExit", "Depot", 52.3706, 4.8770)
	drive(id, "52.3710,4.8650 52.3780,4.8500 52.3850,4.8450", 45)
	rec(id, T + 30, 52.3850, 4.8450, 0, 0, "sos")
	park(id, 1200)
	drive(id, "52.3800,4.8600 52.3745,4.8700 52.3710,4.8785", 40)
	park(id, 600)
}
