set terminal pngcairo size 1200,1100 font "DejaVu Sans,10"
set output "../../../docs/bench-latency.png"
set multiplot layout 4,1 title "Reload under load: the seed's Express app, 2 workers, 256 connections, 10 reloads (shaded: trigger to end of each reload)" font ",12"
set logscale y
set yrange [10:10000]
set xrange [0:56]
set ylabel "latency, ms"
set y2label "failed / 100 ms"
set y2tics
set ytics nomirror
set y2range [0:*]
set grid ytics
set key top left horizontal opaque box
set lmargin 10
set rmargin 10
set style fill transparent solid 0.15 noborder
unset object
unset arrow
set object 1 rect from 3.000,10 to 4.987,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 1 from 3.000,10 to 3.000,10000 nohead dt 2 lc rgb "#203080"
set object 2 rect from 5.000,10 to 6.996,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 2 from 5.000,10 to 5.000,10000 nohead dt 2 lc rgb "#203080"
set object 3 rect from 7.000,10 to 8.927,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 3 from 7.000,10 to 7.000,10000 nohead dt 2 lc rgb "#203080"
set object 4 rect from 9.000,10 to 10.839,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 4 from 9.000,10 to 9.000,10000 nohead dt 2 lc rgb "#203080"
set object 5 rect from 11.000,10 to 12.881,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 5 from 11.000,10 to 11.000,10000 nohead dt 2 lc rgb "#203080"
set object 6 rect from 13.000,10 to 14.904,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 6 from 13.000,10 to 13.000,10000 nohead dt 2 lc rgb "#203080"
set object 7 rect from 15.000,10 to 16.727,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 7 from 15.000,10 to 15.000,10000 nohead dt 2 lc rgb "#203080"
set object 8 rect from 17.000,10 to 18.939,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 8 from 17.000,10 to 17.000,10000 nohead dt 2 lc rgb "#203080"
set object 9 rect from 19.000,10 to 20.933,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 9 from 19.000,10 to 19.000,10000 nohead dt 2 lc rgb "#203080"
set object 10 rect from 21.000,10 to 22.897,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 10 from 21.000,10 to 21.000,10000 nohead dt 2 lc rgb "#203080"
set title "baton (preload) (round 1): p99 during reloads 367.2 ms, 0 failed requests, lost work 0"
unset xlabel
plot "latency-baton.dat" using 1:($2>0?$2:1/0) with lines lw 1.5 lc rgb "#1a7f37" title "p50", "" using 1:($4>0?$4:1/0) with lines lw 1 lc rgb "#555555" title "max", "" using 1:5 axes x1y2 with impulses lw 2 lc rgb "#d62728" title "failed"
unset object
unset arrow
set object 1 rect from 3.000,10 to 7.853,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 1 from 3.000,10 to 3.000,10000 nohead dt 2 lc rgb "#203080"
set object 2 rect from 7.853,10 to 13.310,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 2 from 7.853,10 to 7.853,10000 nohead dt 2 lc rgb "#203080"
set object 3 rect from 13.310,10 to 20.396,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 3 from 13.310,10 to 13.310,10000 nohead dt 2 lc rgb "#203080"
set object 4 rect from 20.396,10 to 26.824,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 4 from 20.396,10 to 20.396,10000 nohead dt 2 lc rgb "#203080"
set object 5 rect from 26.824,10 to 32.322,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 5 from 26.824,10 to 26.824,10000 nohead dt 2 lc rgb "#203080"
set object 6 rect from 32.322,10 to 36.412,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 6 from 32.322,10 to 32.322,10000 nohead dt 2 lc rgb "#203080"
set object 7 rect from 36.413,10 to 40.399,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 7 from 36.413,10 to 36.413,10000 nohead dt 2 lc rgb "#203080"
set object 8 rect from 40.399,10 to 44.484,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 8 from 40.399,10 to 40.399,10000 nohead dt 2 lc rgb "#203080"
set object 9 rect from 44.484,10 to 48.931,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 9 from 44.484,10 to 44.484,10000 nohead dt 2 lc rgb "#203080"
set object 10 rect from 48.931,10 to 53.272,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 10 from 48.931,10 to 48.931,10000 nohead dt 2 lc rgb "#203080"
set title "PM2 cluster mode (round 2): p99 during reloads 916.1 ms, 0 failed requests, lost work 0"
unset xlabel
plot "latency-pm2.dat" using 1:($2>0?$2:1/0) with lines lw 1.5 lc rgb "#1a7f37" title "p50", "" using 1:($4>0?$4:1/0) with lines lw 1 lc rgb "#555555" title "max", "" using 1:5 axes x1y2 with impulses lw 2 lc rgb "#d62728" title "failed"
unset object
unset arrow
set object 1 rect from 3.000,10 to 5.067,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 1 from 3.000,10 to 3.000,10000 nohead dt 2 lc rgb "#203080"
set object 2 rect from 5.073,10 to 7.152,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 2 from 5.073,10 to 5.073,10000 nohead dt 2 lc rgb "#203080"
set object 3 rect from 7.153,10 to 9.214,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 3 from 7.153,10 to 7.153,10000 nohead dt 2 lc rgb "#203080"
set object 4 rect from 9.214,10 to 11.271,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 4 from 9.214,10 to 9.214,10000 nohead dt 2 lc rgb "#203080"
set object 5 rect from 16.276,10 to 18.357,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 5 from 16.276,10 to 16.276,10000 nohead dt 2 lc rgb "#203080"
set object 6 rect from 18.357,10 to 20.418,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 6 from 18.357,10 to 18.357,10000 nohead dt 2 lc rgb "#203080"
set object 7 rect from 25.418,10 to 27.510,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 7 from 25.418,10 to 25.418,10000 nohead dt 2 lc rgb "#203080"
set object 8 rect from 27.511,10 to 29.567,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 8 from 27.511,10 to 27.511,10000 nohead dt 2 lc rgb "#203080"
set object 9 rect from 34.567,10 to 36.641,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 9 from 34.567,10 to 34.567,10000 nohead dt 2 lc rgb "#203080"
set object 10 rect from 36.641,10 to 39.674,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 10 from 36.641,10 to 36.641,10000 nohead dt 2 lc rgb "#203080"
set title "Server::Starter (round 3): p99 during reloads 588.0 ms, 0 failed requests, lost work 0"
unset xlabel
plot "latency-starter.dat" using 1:($2>0?$2:1/0) with lines lw 1.5 lc rgb "#1a7f37" title "p50", "" using 1:($4>0?$4:1/0) with lines lw 1 lc rgb "#555555" title "max", "" using 1:5 axes x1y2 with impulses lw 2 lc rgb "#d62728" title "failed"
unset object
unset arrow
set object 1 rect from 3.000,10 to 4.902,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 1 from 3.000,10 to 3.000,10000 nohead dt 2 lc rgb "#203080"
set object 2 rect from 5.000,10 to 6.926,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 2 from 5.000,10 to 5.000,10000 nohead dt 2 lc rgb "#203080"
set object 3 rect from 7.000,10 to 8.827,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 3 from 7.000,10 to 7.000,10000 nohead dt 2 lc rgb "#203080"
set object 4 rect from 9.000,10 to 10.896,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 4 from 9.000,10 to 9.000,10000 nohead dt 2 lc rgb "#203080"
set object 5 rect from 11.000,10 to 12.672,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 5 from 11.000,10 to 11.000,10000 nohead dt 2 lc rgb "#203080"
set object 6 rect from 13.000,10 to 14.642,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 6 from 13.000,10 to 13.000,10000 nohead dt 2 lc rgb "#203080"
set object 7 rect from 15.000,10 to 16.935,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 7 from 15.000,10 to 15.000,10000 nohead dt 2 lc rgb "#203080"
set object 8 rect from 17.000,10 to 18.646,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 8 from 17.000,10 to 17.000,10000 nohead dt 2 lc rgb "#203080"
set object 9 rect from 19.000,10 to 20.591,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 9 from 19.000,10 to 19.000,10000 nohead dt 2 lc rgb "#203080"
set object 10 rect from 21.000,10 to 22.956,10000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 10 from 21.000,10 to 21.000,10000 nohead dt 2 lc rgb "#203080"
set title "naive restart (round 3): p99 during reloads 287.9 ms, 475,303 failed requests, lost work 0"
set xlabel "seconds since the load started"
plot "latency-naive.dat" using 1:($2>0?$2:1/0) with lines lw 1.5 lc rgb "#1a7f37" title "p50", "" using 1:($4>0?$4:1/0) with lines lw 1 lc rgb "#555555" title "max", "" using 1:5 axes x1y2 with impulses lw 2 lc rgb "#d62728" title "failed"
unset multiplot
