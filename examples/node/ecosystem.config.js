'use strict';
// PM2 cluster mode serving the same app, for comparison with corral:
//
//   pm2 start examples/node/ecosystem.config.js     # PORT 8080, one worker per CPU
//   pm2 stop hello && pm2 delete hello
//
// PM2 is not a dependency of corral; install it yourself (npm install -g pm2).
// In cluster mode PM2 runs server.js as Node cluster workers: server.js binds
// $PORT and PM2's daemon distributes connections among the instances.
// PM2 stops an app with SIGINT, which server.js handles gracefully.

module.exports = {
  apps: [
    {
      name: 'hello',
      script: __dirname + '/server.js',
      exec_mode: 'cluster',
      instances: Number(process.env.WORKERS ?? 0), // 0 = one per CPU
      env: {
        PORT: process.env.PORT ?? '8080',
        HOST: process.env.HOST ?? '127.0.0.1',
      },
      kill_timeout: 30000, // let requests in flight finish, like corral's drain_timeout
      autorestart: true,
    },
  ],
};
