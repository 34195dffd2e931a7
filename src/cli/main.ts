import { CommanderError } from 'commander';
import { ConfigError } from '../config/env.js';
import { AppError } from '../errors.js';
import { createProgram } from './program.js';

/** Exit codes: 0 ok, 1 runtime failure, 2 user mistake (bad flag, bad input, bad configuration). */
export async function runCli(argv: string[]): Promise<number> {
  const program = createProgram();
  program.exitOverride();
  for (const command of program.commands.flatMap((c) => [c, ...c.commands])) command.exitOverride();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed the message (or help/version output).
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    if (error instanceof AppError) {
      process.stderr.write(`error [${error.code}]: ${error.message}\n`);
      return error.code === 'BAD_USER_INPUT' || error.code === 'NOT_FOUND' || error.code === 'CONFIG_INVALID' ? 2 : 1;
    }
    process.stderr.write(`error: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}

const code = await runCli(process.argv);
process.exit(code);
