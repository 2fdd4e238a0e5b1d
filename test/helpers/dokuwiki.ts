// A private DokuWiki from Debian's `dokuwiki` package: the code copied to a temporary
// docroot (Debian's own preload.php points at /etc and /var/lib, so it is replaced), with its
// configuration and a data directory inside the docroot (the upstream tarball's layout), one
// user, and X-Accel-Redirect for media downloads. Nothing outside the temporary folder is
// written.
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { chmodTree } from "./php-fpm.js";

const PACKAGE = "/usr/share/dokuwiki";

export interface DokuWiki {
  /** The docroot (DOKU_INC). */
  root: string;
  user: string;
  password: string;
  remove(): void;
}

export function makeDokuWiki(): DokuWiki {
  if (!existsSync(`${PACKAGE}/doku.php`)) {
    throw new Error(`DokuWiki is not installed (${PACKAGE}/doku.php is missing): run \`npm run setup:test\` (Debian package dokuwiki)`);
  }
  const base = mkdtempSync(path.join(tmpdir(), "edgepass-dokuwiki-"));
  const root = path.join(base, "dokuwiki");
  // dereference: lib/tpl and lib/plugins are symlinks into /var/lib/dokuwiki.
  cpSync(PACKAGE, root, { recursive: true, dereference: true });
  const conf = path.join(root, "conf");
  cpSync("/etc/dokuwiki", conf, { recursive: true, dereference: true });
  writeFileSync(path.join(root, "inc/preload.php"), `<?php\ndefine('DOKU_CONF', ${JSON.stringify(conf + "/")});\n`);
  const data = path.join(root, "data");
  for (const d of ["pages", "attic", "meta", "media", "media_attic", "media_meta", "cache", "index", "locks", "tmp", "log"]) {
    mkdirSync(path.join(data, d), { recursive: true });
  }
  writeFileSync(
    path.join(conf, "local.php"),
    `<?php
$conf['title'] = 'edgepass test wiki';
$conf['savedir'] = ${JSON.stringify(data)};
$conf['useacl'] = 1;
$conf['superuser'] = '@admin';
$conf['xsendfile'] = 3;
$conf['userewrite'] = 1;
`,
  );
  const user = "editor";
  const password = "correct horse";
  const hash = execFileSync("php", ["-r", `echo password_hash(${JSON.stringify(password)}, PASSWORD_BCRYPT);`]).toString();
  writeFileSync(path.join(conf, "users.auth.php"), `# users\n${user}:${hash}:Editor:editor@example.com:admin,user\n`);
  writeFileSync(path.join(conf, "acl.auth.php"), `# acl\n*\t@ALL\t1\n*\t@user\t16\n`);
  writeFileSync(path.join(data, "pages", "start.txt"), "====== Welcome ======\n\nThis wiki runs behind edgepass.\n");
  // php-fpm's workers run as an unprivileged user when the tests run as root: the code must
  // be readable and the data directory writable by them.
  chmodSync(base, 0o755);
  chmodTree(root, false);
  chmodTree(data, true);
  return { root, user, password, remove: () => rmSync(base, { recursive: true, force: true }) };
}
