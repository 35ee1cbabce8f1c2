set terminal pngcairo size 1100,480 font "DejaVu Sans,10"
set output "../../../docs/bench-scale.png"
set multiplot layout 1,2 title "baton reload latency (C test server, ready = notify): trigger to the new generation active" font ",12"
set logscale x 2
set logscale y 10
set grid
set ylabel "ms"
set key top left
set offsets graph 0.05, graph 0.05, 0, 0
set xtics (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
set samples 400
set title "by workers (1 socket)"
set xlabel "workers"
plot "scale-workers.dat" using 1:2:4:5 with yerrorlines lw 2 pt 7 lc rgb "#1f4e9c" title "median (bars: p10-p90)", "" using 1:2:(sprintf("%.0f", $2)) with labels offset 0,1.2 notitle, -36.981 + 9.36295 * x with lines dt 2 lw 1.5 lc rgb "#1f4e9c" title sprintf("fit: %.0f ms + %.2f ms per worker", -36.981, 9.36295)
set title "by sockets (1 worker)"
set xlabel "sockets"
plot "scale-sockets.dat" using 1:2:4:5 with yerrorlines lw 2 pt 7 lc rgb "#1a7f37" title "median (bars: p10-p90)", "" using 1:2:(sprintf("%.1f", $2)) with labels offset 0,1.2 notitle, 7.102 + 0.06207 * x with lines dt 2 lw 1.5 lc rgb "#1a7f37" title sprintf("fit: %.0f ms + %.2f ms per socket", 7.102, 0.06207)
unset multiplot
