set terminal pngcairo size 1200,1100 font "DejaVu Sans,10"
set output "../../../docs/bench-latency.png"
set multiplot layout 4,1 title "Reload under load: the seed's Express app, 2 workers, 256 connections, 10 reloads (shaded: trigger to end of each reload)" font ",12"
set logscale y
set yrange [10:1000]
set xrange [0:51]
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
set object 1 rect from 5.009,10 to 7.474,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 1 from 5.009,10 to 5.009,1000 nohead dt 2 lc rgb "#203080"
set object 2 rect from 7.475,10 to 9.724,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 2 from 7.475,10 to 7.475,1000 nohead dt 2 lc rgb "#203080"
set object 3 rect from 9.724,10 to 11.970,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 3 from 9.724,10 to 9.724,1000 nohead dt 2 lc rgb "#203080"
set object 4 rect from 11.973,10 to 14.178,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 4 from 11.973,10 to 11.973,1000 nohead dt 2 lc rgb "#203080"
set object 5 rect from 14.178,10 to 16.544,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 5 from 14.178,10 to 14.178,1000 nohead dt 2 lc rgb "#203080"
set object 6 rect from 16.545,10 to 18.907,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 6 from 16.545,10 to 16.545,1000 nohead dt 2 lc rgb "#203080"
set object 7 rect from 18.908,10 to 21.116,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 7 from 18.908,10 to 18.908,1000 nohead dt 2 lc rgb "#203080"
set object 8 rect from 21.116,10 to 23.392,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 8 from 21.116,10 to 21.116,1000 nohead dt 2 lc rgb "#203080"
set object 9 rect from 23.392,10 to 25.508,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 9 from 23.392,10 to 23.392,1000 nohead dt 2 lc rgb "#203080"
set object 10 rect from 25.508,10 to 27.656,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 10 from 25.508,10 to 25.508,1000 nohead dt 2 lc rgb "#203080"
set title "baton (preload) (round 1): p99 during reloads 429.4 ms, 0 failed requests, lost work 0"
unset xlabel
plot "latency-baton.dat" using 1:($2>0?$2:1/0) with lines lw 1.5 lc rgb "#1a7f37" title "p50", "" using 1:($4>0?$4:1/0) with lines lw 1 lc rgb "#555555" title "max", "" using 1:5 axes x1y2 with impulses lw 2 lc rgb "#d62728" title "failed"
unset object
unset arrow
set object 1 rect from 5.002,10 to 9.494,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 1 from 5.002,10 to 5.002,1000 nohead dt 2 lc rgb "#203080"
set object 2 rect from 9.495,10 to 13.880,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 2 from 9.495,10 to 9.495,1000 nohead dt 2 lc rgb "#203080"
set object 3 rect from 13.880,10 to 18.269,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 3 from 13.880,10 to 13.880,1000 nohead dt 2 lc rgb "#203080"
set object 4 rect from 18.269,10 to 22.385,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 4 from 18.269,10 to 18.269,1000 nohead dt 2 lc rgb "#203080"
set object 5 rect from 22.386,10 to 26.769,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 5 from 22.386,10 to 22.386,1000 nohead dt 2 lc rgb "#203080"
set object 6 rect from 26.770,10 to 31.037,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 6 from 26.770,10 to 26.770,1000 nohead dt 2 lc rgb "#203080"
set object 7 rect from 31.037,10 to 35.264,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 7 from 31.037,10 to 31.037,1000 nohead dt 2 lc rgb "#203080"
set object 8 rect from 35.266,10 to 39.505,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 8 from 35.266,10 to 35.266,1000 nohead dt 2 lc rgb "#203080"
set object 9 rect from 39.506,10 to 43.767,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 9 from 39.506,10 to 39.506,1000 nohead dt 2 lc rgb "#203080"
set object 10 rect from 43.767,10 to 48.025,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 10 from 43.767,10 to 43.767,1000 nohead dt 2 lc rgb "#203080"
set title "PM2 cluster mode (round 1): p99 during reloads 448.3 ms, 0 failed requests, lost work 0"
unset xlabel
plot "latency-pm2.dat" using 1:($2>0?$2:1/0) with lines lw 1.5 lc rgb "#1a7f37" title "p50", "" using 1:($4>0?$4:1/0) with lines lw 1 lc rgb "#555555" title "max", "" using 1:5 axes x1y2 with impulses lw 2 lc rgb "#d62728" title "failed"
unset object
unset arrow
set object 1 rect from 5.002,10 to 7.149,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 1 from 5.002,10 to 5.002,1000 nohead dt 2 lc rgb "#203080"
set object 2 rect from 7.150,10 to 9.302,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 2 from 7.150,10 to 7.150,1000 nohead dt 2 lc rgb "#203080"
set object 3 rect from 9.303,10 to 11.503,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 3 from 9.303,10 to 9.303,1000 nohead dt 2 lc rgb "#203080"
set object 4 rect from 11.503,10 to 13.637,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 4 from 11.503,10 to 11.503,1000 nohead dt 2 lc rgb "#203080"
set object 5 rect from 13.639,10 to 15.793,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 5 from 13.639,10 to 13.639,1000 nohead dt 2 lc rgb "#203080"
set object 6 rect from 15.794,10 to 18.006,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 6 from 15.794,10 to 15.794,1000 nohead dt 2 lc rgb "#203080"
set object 7 rect from 18.007,10 to 20.187,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 7 from 18.007,10 to 18.007,1000 nohead dt 2 lc rgb "#203080"
set object 8 rect from 20.188,10 to 22.354,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 8 from 20.188,10 to 20.188,1000 nohead dt 2 lc rgb "#203080"
set object 9 rect from 22.355,10 to 24.521,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 9 from 22.355,10 to 22.355,1000 nohead dt 2 lc rgb "#203080"
set object 10 rect from 24.521,10 to 26.652,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 10 from 24.521,10 to 24.521,1000 nohead dt 2 lc rgb "#203080"
set title "Server::Starter (round 3): p99 during reloads 417.3 ms, 0 failed requests, lost work 0"
unset xlabel
plot "latency-starter.dat" using 1:($2>0?$2:1/0) with lines lw 1.5 lc rgb "#1a7f37" title "p50", "" using 1:($4>0?$4:1/0) with lines lw 1 lc rgb "#555555" title "max", "" using 1:5 axes x1y2 with impulses lw 2 lc rgb "#d62728" title "failed"
unset object
unset arrow
set object 1 rect from 5.002,10 to 6.912,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 1 from 5.002,10 to 5.002,1000 nohead dt 2 lc rgb "#203080"
set object 2 rect from 7.000,10 to 8.979,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 2 from 7.000,10 to 7.000,1000 nohead dt 2 lc rgb "#203080"
set object 3 rect from 9.000,10 to 11.074,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 3 from 9.000,10 to 9.000,1000 nohead dt 2 lc rgb "#203080"
set object 4 rect from 11.074,10 to 13.134,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 4 from 11.074,10 to 11.074,1000 nohead dt 2 lc rgb "#203080"
set object 5 rect from 13.134,10 to 15.238,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 5 from 13.134,10 to 13.134,1000 nohead dt 2 lc rgb "#203080"
set object 6 rect from 15.239,10 to 17.355,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 6 from 15.239,10 to 15.239,1000 nohead dt 2 lc rgb "#203080"
set object 7 rect from 17.355,10 to 19.197,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 7 from 17.355,10 to 17.355,1000 nohead dt 2 lc rgb "#203080"
set object 8 rect from 19.197,10 to 21.227,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 8 from 19.197,10 to 19.197,1000 nohead dt 2 lc rgb "#203080"
set object 9 rect from 21.227,10 to 23.154,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 9 from 21.227,10 to 21.227,1000 nohead dt 2 lc rgb "#203080"
set object 10 rect from 23.154,10 to 25.055,1000 behind fc rgb "#4060c0" fs transparent solid 0.13 noborder
set arrow 10 from 23.154,10 to 23.154,1000 nohead dt 2 lc rgb "#203080"
set title "naive restart (round 1): p99 during reloads 282.5 ms, 832,524 failed requests, lost work 0"
set xlabel "seconds since the load started"
plot "latency-naive.dat" using 1:($2>0?$2:1/0) with lines lw 1.5 lc rgb "#1a7f37" title "p50", "" using 1:($4>0?$4:1/0) with lines lw 1 lc rgb "#555555" title "max", "" using 1:5 axes x1y2 with impulses lw 2 lc rgb "#d62728" title "failed"
unset multiplot
