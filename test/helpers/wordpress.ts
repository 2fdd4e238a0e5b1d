// A private WordPress from Debian's `wordpress` package on a MariaDB of its own: the code
// copied to a temporary docroot with a plain wp-config.php (Debian's reads /etc/wordpress),
// and mariadbd started on a free loopback port with a fresh data directory and no grants to
// set up (--skip-grant-tables; it listens on 127.0.0.1 only). Installing the site is left to
// the test, through the gateway, as a person would do it.
import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chmodTree, freePort } from "./php-fpm.js";
import { installHint, launch, type Server } from "./servers/launch.js";

const PACKAGE = "/usr/share/wordpress";

export interface WordPress {
  root: string;
  db: Server;
  stop(): Promise<void>;
}

export async function startWordPress(): Promise<WordPress> {
  if (!existsSync(`${PACKAGE}/wp-settings.php`)) throw new Error(`WordPress is not installed. ${installHint("wordpress")}`);
  if (!existsSync("/usr/sbin/mariadbd")) throw new Error(`MariaDB is not installed. ${installHint("mariadb-server")}`);
  const base = mkdtempSync(path.join(tmpdir(), "edgepass-wordpress-"));
  const root = path.join(base, "wordpress");
  cpSync(PACKAGE, root, { recursive: true, dereference: true });
  rmSync(path.join(root, ".htaccess"), { force: true });
  mkdirSync(path.join(root, "wp-content/uploads"), { recursive: true });

  const data = path.join(base, "mysql");
  const user = process.getuid?.() === 0 ? ["--user=root"] : [];
  execFileSync("/usr/bin/mariadb-install-db", [`--datadir=${data}`, "--auth-root-authentication-method=normal", "--skip-test-db", ...user], { stdio: "pipe" });
  const port = await freePort();
  const db = await launch({
    name: "MariaDB",
    command: "/usr/sbin/mariadbd",
    args: [
      "--no-defaults", `--datadir=${data}`, `--port=${port}`, "--bind-address=127.0.0.1",
      `--socket=${path.join(base, "mysqld.sock")}`, `--pid-file=${path.join(base, "mysqld.pid")}`,
      "--skip-grant-tables", "--skip-log-bin", "--innodb-buffer-pool-size=16M", ...user,
    ],
    port,
  });
  execFileSync("/usr/bin/mariadb", ["--no-defaults", "-h127.0.0.1", `-P${port}`, "-uroot", "-e", "CREATE DATABASE wordpress"]);
  writeFileSync(
    path.join(root, "wp-config.php"),
    `<?php
define('DB_NAME', 'wordpress');
define('DB_USER', 'root');
define('DB_PASSWORD', '');
define('DB_HOST', '127.0.0.1:${port}');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
${["AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY", "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT"].map((k) => `define('${k}', '${k.toLowerCase()}-edgepass-test');`).join("\n")}
$table_prefix = 'wp_';
define('WP_DEBUG', false);
define('FS_METHOD', 'direct');
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('DISABLE_WP_CRON', true);
if (!defined('ABSPATH')) define('ABSPATH', __DIR__ . '/');
require_once ABSPATH . 'wp-settings.php';
`,
  );
  // php-fpm's workers may run as an unprivileged user: readable code, writable uploads.
  chmodSync(base, 0o755);
  chmodTree(root, false);
  chmodTree(path.join(root, "wp-content/uploads"), true);
  return {
    root,
    db,
    stop: async () => {
      await db.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}
