import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../config/env.js';
import { AppError } from '../../errors.js';
import { projectRoot } from '../../paths.js';

/*
 * EASE's dense inverse on numpy: LAPACK through the OpenBLAS that numpy's wheel ships, ~100× ml-matrix on two
 * cores (bench/RESULTS.md). numpy comes from PyPI into a virtualenv of its own in the engine cache, made on first
 * use from the machine's python3 (RTREC_PYTHON to choose another), like the JVM engines; the worker
 * (ease_numpy.py) reads the matrix from files and writes B back, so nothing but numbers crosses.
 */

const run = promisify(execFile);

/** The numpy release the virtualenv pins (wheels for CPython 3.11–3.14 on Linux x86-64/arm64). */
export const NUMPY_VERSION = '2.3.5';
const WORKER = join(projectRoot, 'src', 'recommend', 'models', 'ease_numpy.py');

export interface NumpyOptions {
  /** Where the virtualenv lives (default: the engine cache, RTREC_ENGINE_CACHE). */
  cacheDir?: string;
  /** The interpreter that makes it (default RTREC_PYTHON, else python3). */
  python?: string;
  log?: (message: string) => void;
}

const made = new Map<string, Promise<string>>();

/** The virtualenv's python with numpy importable, made once per cache dir (concurrent callers share it). */
export function numpyPython(options: NumpyOptions = {}): Promise<string> {
  const config = options.cacheDir && options.python ? undefined : loadConfig();
  const cacheDir = options.cacheDir ?? config!.engineCache;
  const python = options.python ?? config!.python;
  const dir = join(cacheDir, `python-numpy-${NUMPY_VERSION}`);
  let pending = made.get(dir);
  if (!pending) {
    pending = makeVenv(dir, python, options.log);
    made.set(dir, pending);
    pending.catch(() => made.delete(dir));
  }
  return pending;
}

async function makeVenv(dir: string, python: string, log?: (message: string) => void): Promise<string> {
  const interpreter = join(dir, 'bin', 'python');
  if (existsSync(join(dir, '.complete'))) return interpreter;
  const fix = `Install Python 3.11+ with its venv module (Debian: apt install python3-venv), or set RTREC_PYTHON to one; or choose --ease-backend js (slower: at most ${JS_HINT} items in reasonable time).`;
  try {
    const { stdout } = await run(python, ['-c', 'import sys, venv; print("%d.%d" % sys.version_info[:2])']);
    const [major, minor] = stdout.trim().split('.').map(Number);
    if (major !== 3 || minor! < 11) throw new Error(`${python} is Python ${stdout.trim()}`);
  } catch (error) {
    throw new AppError(
      'PYTHON_UNAVAILABLE',
      `EASE's numpy backend needs Python 3.11+ with venv, and ${python} cannot provide it (${(error as Error).message.split('\n')[0]}). ${fix}`,
    );
  }
  mkdirSync(join(dir, '..'), { recursive: true });
  const scratch = mkdtempSync(`${dir}.tmp-`);
  try {
    log?.(`installing numpy ${NUMPY_VERSION} from PyPI into ${dir} (once per machine)`);
    await run(python, ['-m', 'venv', scratch]);
    // Only the interpreter is used (python -m pip, the worker), and a venv's interpreter finds its packages
    // relative to itself, so the finished venv can be moved into place: concurrent makers never see half of one.
    const pip = ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', `numpy==${NUMPY_VERSION}`];
    await run(join(scratch, 'bin', 'python'), pip, { maxBuffer: 16 << 20 });
    writeFileSync(join(scratch, '.complete'), `numpy ${NUMPY_VERSION}\n`);
    if (existsSync(join(dir, '.complete'))) rmSync(scratch, { recursive: true, force: true });
    else {
      rmSync(dir, { recursive: true, force: true });
      renameSync(scratch, dir);
    }
    return interpreter;
  } catch (error) {
    rmSync(scratch, { recursive: true, force: true });
    const detail = (error as { stderr?: string }).stderr?.trim().split('\n').slice(-2).join(' ') || (error as Error).message;
    throw new AppError(
      'PYTHON_UNAVAILABLE',
      `Could not install numpy ${NUMPY_VERSION} into ${dir}: ${detail}. Check that PyPI is reachable (pip's proxy settings apply). ${fix}`,
    );
  }
}

/** Items above which the JS backend takes minutes (ml-matrix: 59 s at 2,000). */
const JS_HINT = 2000;

/** A CSR matrix over the modelled items (columns 0..items-1). */
export interface ModelledCsr {
  users: number;
  items: number;
  indptr: Int32Array;
  indices: Int32Array;
  data: Float64Array;
}

/** B (items × items, row-major, zero diagonal) of EASE with regularisation `lambda`, computed by numpy. */
/** What the worker reports: its phases' seconds and its peak memory. */
export interface NumpyFitStats {
  gramSeconds: number;
  inverseSeconds: number;
  writeSeconds: number;
  peakRssMiB: number;
}

export async function easeWeightsNumpy(csr: ModelledCsr, lambda: number, options: NumpyOptions = {}): Promise<{ weights: Float32Array; stats: NumpyFitStats }> {
  const python = await numpyPython(options);
  const dir = mkdtempSync(join(tmpdir(), 'rtrec-ease-'));
  try {
    writeFileSync(join(dir, 'indptr'), csr.indptr);
    writeFileSync(join(dir, 'indices'), csr.indices);
    writeFileSync(join(dir, 'data'), csr.data);
    let stdout: string;
    try {
      ({ stdout } = await run(python, [WORKER, dir, String(csr.users), String(csr.items), String(lambda)], { maxBuffer: 1 << 20 }));
    } catch (error) {
      const detail = (error as { stderr?: string }).stderr?.trim().split('\n').slice(-3).join(' ') || (error as Error).message;
      throw new AppError(
        'MODEL_FIT_FAILED',
        `EASE's numpy worker failed on ${csr.items} items: ${detail}. Fewer items (--ease-items) need less memory (8·items² bytes twice).`,
      );
    }
    const bytes = readFileSync(join(dir, 'weights'));
    if (bytes.byteLength !== csr.items * csr.items * 4)
      throw new AppError('MODEL_FIT_FAILED', `EASE's numpy worker wrote ${bytes.byteLength} bytes, not ${csr.items}² floats.`);
    return { weights: new Float32Array(bytes.buffer, bytes.byteOffset, csr.items * csr.items), stats: JSON.parse(stdout) as NumpyFitStats };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
