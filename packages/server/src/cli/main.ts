/**
 * The `cxs` command line: `serve`, `export`, `import`, `purge`, `hash-password`.
 * Run `cxs <command> --help` for each command's options.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { isContextServicesError } from '@cxs/core';
import { hashPassword } from '@cxs/koa';
import {
  EXPORT_OPTIONS,
  exportCommand,
  IMPORT_OPTIONS,
  importCommand,
  PURGE_OPTIONS,
  purgeCommand,
} from './data.js';
import { type OptionSpec, optionsHelp, UsageError } from './options.js';
import { SERVE_OPTIONS, serve } from './serve.js';

interface Command {
  summary: string;
  usage: string;
  options: readonly OptionSpec[];
  run(argv: readonly string[]): Promise<number>;
}

/** Read a password: hidden prompt on a terminal, else the first line of standard input. */
async function readPassword(): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let text = '';
    for await (const chunk of stdin) text += String(chunk);
    return text.split(/\r?\n/)[0] ?? '';
  }
  process.stderr.write('Password: ');
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          stdin.setRawMode(false);
          stdin.off('data', onData);
          stdin.pause();
          process.stderr.write('\n');
          resolve(text);
          return;
        }
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          reject(new UsageError('cancelled'));
          return;
        }
        text = ch === '\u007f' ? text.slice(0, -1) : text + ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

const COMMANDS: Record<string, Command> = {
  serve: {
    summary: 'run the HTTP server',
    usage: 'cxs serve [options]',
    options: SERVE_OPTIONS,
    run: (argv) => serve(argv),
  },
  export: {
    summary: 'export services of a store as JSON lines (one full service per line)',
    usage: 'cxs export [--data ./data | --store postgres --pg-url URL] [--out file.jsonl] [options]',
    options: EXPORT_OPTIONS,
    run: (argv) => exportCommand(argv),
  },
  import: {
    summary: 'import services from JSON lines written by export, keeping their ids',
    usage: 'cxs import [--data ./data | --store postgres --pg-url URL] [--in file.jsonl]',
    options: IMPORT_OPTIONS,
    run: (argv) => importCommand(argv),
  },
  purge: {
    summary: 'delete services started before an instant',
    usage:
      'cxs purge --before <instant> --operation <operation> [--data ./data | --store postgres --pg-url URL]',
    options: PURGE_OPTIONS,
    run: (argv) => purgeCommand(argv),
  },
  'hash-password': {
    summary: 'print the scrypt hash of a password for the users file (read from stdin or a prompt)',
    usage: 'cxs hash-password',
    options: [],
    async run(argv) {
      if (argv.includes('--help') || argv.includes('-h')) return -1;
      if (argv.length > 0)
        throw new UsageError('hash-password takes no arguments: the password is read from stdin');
      const password = await readPassword();
      if (password === '') throw new UsageError('empty password');
      process.stdout.write(`${await hashPassword(password)}\n`);
      return 0;
    },
  },
};

function mainHelp(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(15)}${c.summary}`);
  return `Usage: cxs <command> [options]\n\nCommands:\n${rows.join('\n')}\n\nRun 'cxs <command> --help' for the options of a command.\n`;
}

function commandHelp(c: Command): string {
  return `Usage: ${c.usage}\n\n${c.summary}\n\nOptions:\n${optionsHelp(c.options)}\n`;
}

/**
 * Run the command line; resolves to the process exit code (0 success, 1 failure, 2 bad usage).
 *
 * @example
 * ```ts
 * process.exitCode = await main(process.argv.slice(2));
 * ```
 */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`cxs: unknown command '${name}'\n\n${mainHelp()}`);
    return 2;
  }
  try {
    const code = await command.run(rest);
    if (code === -1) {
      process.stdout.write(commandHelp(command));
      return 0;
    }
    return code;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`cxs ${name}: ${error.message}\nRun 'cxs ${name} --help' for its options.\n`);
      return 2;
    }
    if (isContextServicesError(error) && error.code === 'STORE_LOCKED') {
      process.stderr.write(
        `cxs ${name}: the data directory is in use by another process: stop the server (or the other command) using it first.\n${error.message}\n`,
      );
      return 1;
    }
    if (isContextServicesError(error) || error instanceof TypeError) {
      process.stderr.write(`cxs ${name}: ${error.message}\n`);
      return 1;
    }
    const e = error as NodeJS.ErrnoException;
    const message = e.message ?? String(error);
    // Node's system errors already start with their code (`ENOENT: no such file…`).
    const code = e.code === undefined || message.startsWith(e.code) ? '' : `${e.code} `;
    process.stderr.write(`cxs ${name}: ${code}${message}\n`);
    return 1;
  }
}

/** True when this module is the program being run (`node src/cli/main.ts …`), not imported. */
function isEntry(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isEntry()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`cxs: ${String(error)}\n`);
      process.exit(1);
    },
  );
}
