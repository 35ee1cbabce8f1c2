// The app of the post that started baton: an Express server whose requests
// answer first and finish asynchronous work afterwards, reloaded with no
// work lost. Written as the post writes it (listen on 3000, drain on
// SIGINT: close the server, give the work 10 s, force exit at 15 s); baton
// needs no change to it. WORK_LOG, WORK_MS, CLOSE_WAIT_MS and FORCE_MS only
// let the tests watch the work and shorten the waits.
const http = require('http');
const fs = require('fs');
const express = require('express');

const app = express();

const workMs = Number(process.env.WORK_MS || 300);

app.get('/', (req, res) => {
  const id = req.query.id || req.get('X-Request-Id') || '-';
  res.send(`ok ${process.pid}\n`);

  // Work the request does after it has answered: lost if the process
  // dies before it runs.
  setTimeout(() => {
    if (process.env.WORK_LOG) {
      fs.appendFileSync(process.env.WORK_LOG, `${id} ${process.pid}\n`);
    }
  }, workMs);
});

const server = http.createServer(app);

server.listen(process.env.PORT || 3000, () => {
  console.log(`Express is listening on ${process.env.PORT || 3000}`);
});

process.on('SIGINT', () => {

  const cleanUp = () => {
    // The post closes its mysql and redis clients here.
  };

  server.close(() => {
    // Stop after 10 secs
    setTimeout(() => {
      cleanUp();
      process.exit();
    }, Number(process.env.CLOSE_WAIT_MS || 10000));
  });

  // Force close server after 15 secs
  setTimeout((e) => {
    console.log('Forcing server close !!!', e);
    cleanUp();
    process.exit(1);
  }, Number(process.env.FORCE_MS || 15000));

});
