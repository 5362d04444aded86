set terminal pngcairo size 1000,700 font 'sans,10'
set grid
set key outside below maxrows 4
set datafile missing 'NaN'
set key autotitle columnhead
set xrange [170.667:6144]
set output '/tmp/fsb-trixie/active.png'
set title 'Seconds until the Glance image is active, by disk size (full disks, median)'
set xlabel 'disk size (MiB)'
set ylabel 'seconds'
set logscale x 2
set logscale y
plot '/tmp/fsb-trixie/active.dat' using 1:2 w lp lw 3 title 'fastsnap direct sync', '' using 1:3 w lp lw 3 title 'fastsnap direct deferred', '' using 1:4 w lp lw 3 title 'fastsnap direct none', '' using 1:5 w lp lw 2 dt 2 title 'floor (unavoidable calls alone)', '' using 1:6 w lp lw 2 title '(a) rbd CLI + location, flatten', '' using 1:7 w lp lw 2 title '(a) rbd CLI + location, no flatten', '' using 1:8 w lp lw 3 title 'fastsnap stream, file store', '' using 1:9 w lp lw 2 title '(b) rbd export | curl -T -', '' using 1:10 w lp lw 2 title '(c) export to file, then upload'
set output '/tmp/fsb-trixie/throughput.png'
set title 'Streaming throughput against the limits (full disks, median)'
set ylabel 'MB/s (10^6 bytes of disk per second)'
unset logscale y
set yrange [0:*]
plot '/tmp/fsb-trixie/throughput.dat' using 1:2 w lp lw 3 title 'fastsnap stream, file store (whole run)', '' using 1:3 w lp lw 2 title 'fastsnap stream, rbd store (phase)', '' using 1:4 w lp lw 2 title '(b) rbd export | curl, Glance', '' using 1:5 w lp lw 2 title '(c) export to file, upload', '' using 1:6 w lp lw 2 dt 2 title 'limit: Glance ingest alone', '' using 1:7 w lp lw 3 title 'fastsnap stream, null sink (sha512)', '' using 1:8 w lp lw 2 title '(b) into the null sink', '' using 1:9 w lp lw 2 dt 2 title 'limit: read alone', '' using 1:10 w lp lw 2 dt 2 title 'limit: null sink alone', '' using 1:11 w lp lw 2 dt 2 title 'limit: sha512 alone'
set output '/tmp/fsb-trixie/concurrency.png'
set title 'N snapshots of N disks at once: seconds until the last is active (median)'
unset logscale x
set logscale x 2
set xrange [0.8:10]
set xlabel 'N'
set ylabel 'seconds'
set yrange [0:*]
plot '/tmp/fsb-trixie/concurrency.dat' using 1:2 w lp lw 2 dt 2 title 'floor, N threads', '' using 1:3 w lp lw 3 title 'deferred, one engine (active)', '' using 1:6 w lp lw 1 dt 3 title 'deferred, one engine (flatten done)', '' using 1:4 w lp lw 3 title 'none, one engine (active)', '' using 1:7 w lp lw 2 title 'N CLI processes, deferred (last active)', '' using 1:5 w lp lw 1 dt 3 title 'N CLI processes, deferred (all exited)'
