set terminal pngcairo size 1200,1100 font "DejaVu Sans,10"
set output "../../../docs/bench-latency.png"
set multiplot layout 4,1 title "Reload under load: the seed's Express app, 2 workers, 256 connections, 10 reloads (shaded: trigger to end of each reload)" font ",12"
set logscale y
set yrange [10:1000]
set xrange [0:53]
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
set object 1 rect from 5.001,10 to 7.127,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 1 from 5.001,10 to 5.001,1000 nohead dt 2 lc rgb "#203080"
set object 2 rect from 7.128,10 to 8.974,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 2 from 7.128,10 to 7.128,1000 nohead dt 2 lc rgb "#203080"
set object 3 rect from 9.000,10 to 10.991,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 3 from 9.000,10 to 9.000,1000 nohead dt 2 lc rgb "#203080"
set object 4 rect from 11.000,10 to 12.956,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 4 from 11.000,10 to 11.000,1000 nohead dt 2 lc rgb "#203080"
set object 5 rect from 13.001,10 to 15.111,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 5 from 13.001,10 to 13.001,1000 nohead dt 2 lc rgb "#203080"
set object 6 rect from 15.111,10 to 17.104,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 6 from 15.111,10 to 15.111,1000 nohead dt 2 lc rgb "#203080"
set object 7 rect from 17.104,10 to 19.222,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 7 from 17.104,10 to 17.104,1000 nohead dt 2 lc rgb "#203080"
set object 8 rect from 19.223,10 to 21.125,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 8 from 19.223,10 to 19.223,1000 nohead dt 2 lc rgb "#203080"
set object 9 rect from 21.125,10 to 23.183,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 9 from 21.125,10 to 21.125,1000 nohead dt 2 lc rgb "#203080"
set object 10 rect from 23.184,10 to 25.089,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 10 from 23.184,10 to 23.184,1000 nohead dt 2 lc rgb "#203080"
set title "baton (preload) (round 1): p99 during reloads 332.8 ms, 0 failed requests, lost work 0"
unset xlabel
plot "latency-baton.dat" using 1:($2>0?$2:1/0) with lines lw 1.5 lc rgb "#1a7f37" title "p50", "" using 1:($4>0?$4:1/0) with lines lw 1 lc rgb "#555555" title "max", "" using 1:5 axes x1y2 with impulses lw 2 lc rgb "#d62728" title "failed"
unset object
unset arrow
set object 1 rect from 5.002,10 to 9.535,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 1 from 5.002,10 to 5.002,1000 nohead dt 2 lc rgb "#203080"
set object 2 rect from 9.535,10 to 13.596,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 2 from 9.535,10 to 9.535,1000 nohead dt 2 lc rgb "#203080"
set object 3 rect from 13.596,10 to 17.953,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 3 from 13.596,10 to 13.596,1000 nohead dt 2 lc rgb "#203080"
set object 4 rect from 17.953,10 to 22.314,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 4 from 17.953,10 to 17.953,1000 nohead dt 2 lc rgb "#203080"
set object 5 rect from 22.317,10 to 27.188,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 5 from 22.317,10 to 22.317,1000 nohead dt 2 lc rgb "#203080"
set object 6 rect from 27.189,10 to 31.564,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 6 from 27.189,10 to 27.189,1000 nohead dt 2 lc rgb "#203080"
set object 7 rect from 31.564,10 to 35.955,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 7 from 31.564,10 to 31.564,1000 nohead dt 2 lc rgb "#203080"
set object 8 rect from 35.955,10 to 40.726,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 8 from 35.955,10 to 35.955,1000 nohead dt 2 lc rgb "#203080"
set object 9 rect from 40.726,10 to 45.404,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 9 from 40.726,10 to 40.726,1000 nohead dt 2 lc rgb "#203080"
set object 10 rect from 45.404,10 to 50.036,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 10 from 45.404,10 to 45.404,1000 nohead dt 2 lc rgb "#203080"
set title "PM2 cluster mode (round 1): p99 during reloads 481.7 ms, 0 failed requests, lost work 0"
unset xlabel
plot "latency-pm2.dat" using 1:($2>0?$2:1/0) with lines lw 1.5 lc rgb "#1a7f37" title "p50", "" using 1:($4>0?$4:1/0) with lines lw 1 lc rgb "#555555" title "max", "" using 1:5 axes x1y2 with impulses lw 2 lc rgb "#d62728" title "failed"
unset object
unset arrow
set object 1 rect from 5.003,10 to 7.228,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 1 from 5.003,10 to 5.003,1000 nohead dt 2 lc rgb "#203080"
set object 2 rect from 7.228,10 to 9.381,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 2 from 7.228,10 to 7.228,1000 nohead dt 2 lc rgb "#203080"
set object 3 rect from 9.382,10 to 11.546,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 3 from 9.382,10 to 9.382,1000 nohead dt 2 lc rgb "#203080"
set object 4 rect from 11.548,10 to 13.741,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 4 from 11.548,10 to 11.548,1000 nohead dt 2 lc rgb "#203080"
set object 5 rect from 13.742,10 to 15.890,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 5 from 13.742,10 to 13.742,1000 nohead dt 2 lc rgb "#203080"
set object 6 rect from 15.890,10 to 18.071,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 6 from 15.890,10 to 15.890,1000 nohead dt 2 lc rgb "#203080"
set object 7 rect from 18.072,10 to 20.234,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 7 from 18.072,10 to 18.072,1000 nohead dt 2 lc rgb "#203080"
set object 8 rect from 20.234,10 to 22.431,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 8 from 20.234,10 to 20.234,1000 nohead dt 2 lc rgb "#203080"
set object 9 rect from 22.432,10 to 24.627,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 9 from 22.432,10 to 22.432,1000 nohead dt 2 lc rgb "#203080"
set object 10 rect from 24.628,10 to 26.821,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 10 from 24.628,10 to 24.628,1000 nohead dt 2 lc rgb "#203080"
set title "Server::Starter (round 1): p99 during reloads 487.2 ms, 0 failed requests, lost work 0"
unset xlabel
plot "latency-starter.dat" using 1:($2>0?$2:1/0) with lines lw 1.5 lc rgb "#1a7f37" title "p50", "" using 1:($4>0?$4:1/0) with lines lw 1 lc rgb "#555555" title "max", "" using 1:5 axes x1y2 with impulses lw 2 lc rgb "#d62728" title "failed"
unset object
unset arrow
set object 1 rect from 5.002,10 to 7.596,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 1 from 5.002,10 to 5.002,1000 nohead dt 2 lc rgb "#203080"
set object 2 rect from 7.596,10 to 9.848,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 2 from 7.596,10 to 7.596,1000 nohead dt 2 lc rgb "#203080"
set object 3 rect from 9.849,10 to 12.164,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 3 from 9.849,10 to 9.849,1000 nohead dt 2 lc rgb "#203080"
set object 4 rect from 12.165,10 to 14.540,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 4 from 12.165,10 to 12.165,1000 nohead dt 2 lc rgb "#203080"
set object 5 rect from 14.540,10 to 16.805,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 5 from 14.540,10 to 14.540,1000 nohead dt 2 lc rgb "#203080"
set object 6 rect from 16.805,10 to 18.995,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 6 from 16.805,10 to 16.805,1000 nohead dt 2 lc rgb "#203080"
set object 7 rect from 18.995,10 to 20.886,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 7 from 18.995,10 to 18.995,1000 nohead dt 2 lc rgb "#203080"
set object 8 rect from 20.886,10 to 22.674,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 8 from 20.886,10 to 20.886,1000 nohead dt 2 lc rgb "#203080"
set object 9 rect from 22.674,10 to 24.596,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 9 from 22.674,10 to 22.674,1000 nohead dt 2 lc rgb "#203080"
set object 10 rect from 24.596,10 to 26.512,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 10 from 24.596,10 to 24.596,1000 nohead dt 2 lc rgb "#203080"
set title "naive restart (round 2): p99 during reloads 311.4 ms, 631,400 failed requests, lost work 0"
set xlabel "seconds since the load started"
plot "latency-naive.dat" using 1:($2>0?$2:1/0) with lines lw 1.5 lc rgb "#1a7f37" title "p50", "" using 1:($4>0?$4:1/0) with lines lw 1 lc rgb "#555555" title "max", "" using 1:5 axes x1y2 with impulses lw 2 lc rgb "#d62728" title "failed"
unset multiplot
