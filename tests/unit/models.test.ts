import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { EASE_MAX_ITEMS } from '../../src/recommend/models/defaults.js';
import { easeNeighbours, easeRecommender, fitEase, trainEase } from '../../src/recommend/models/ease.js';
import { numpyPython } from '../../src/recommend/models/ease-numpy.js';
import { fitIals, ialsFactors, ialsRecommender } from '../../src/recommend/models/ials.js';
import { fitItemKnn, knnNeighbours, knnSimilarity } from '../../src/recommend/models/item-knn.js';
import { buildInteractionMatrix } from '../../src/recommend/models/matrix.js';
import { topK } from '../../src/recommend/models/rank.js';
import { trainData } from '../helpers/train.js';

describe('the interaction matrix', () => {
  const train = trainData({ 7: { 30: 5, 10: 1 }, 3: { 20: 2 } }, [10, 20, 30, 40]);

  it('indexes users and items by ascending id and stores rows and columns of the same entries', () => {
    const m = buildInteractionMatrix(train, { values: 'weight', precision: 64 });
    expect(m.userIds).toEqual([3, 7]);
    expect(m.itemIds).toEqual([10, 20, 30, 40]);
    expect([...m.csr.indptr]).toEqual([0, 1, 3]);
    expect([...m.csr.indices]).toEqual([1, 0, 2]);
    expect([...m.csr.data]).toEqual([2, 1, 5]);
    expect([...m.csc.indptr]).toEqual([0, 1, 2, 3, 3]);
    expect([...m.csc.indices]).toEqual([1, 0, 1]);
    expect([...m.csc.data]).toEqual([1, 2, 5]);
  });

  it('counts every interaction as 1 when binary, in Float32 by default', () => {
    const m = buildInteractionMatrix(train);
    expect(m.csr.data).toBeInstanceOf(Float32Array);
    expect([...m.csr.data]).toEqual([1, 1, 1]);
  });
});

describe('item-kNN', () => {
  // Items 10 and 20 have the same two users, 30 one of them: cos(10,20) = 1, cos(10,30) = 1/√2.
  const m = buildInteractionMatrix(trainData({ 1: { 10: 1, 20: 1, 30: 1 }, 2: { 10: 1, 20: 1 } }));

  it('shrinks the cosine by dot / (‖a‖‖b‖ + shrink)', () => {
    const knn = fitItemKnn(m, { shrink: 2 });
    expect(knnSimilarity(knn, 0, 1)).toBeCloseTo(2 / (2 + 2), 12);
    expect(knnSimilarity(knn, 0, 2)).toBeCloseTo(1 / (Math.SQRT2 + 2), 12);
    expect(fitItemKnn(m, { shrink: 0 }).sims[0]).toBeCloseTo(1, 12);
  });

  it('keeps only the k most similar neighbours per item and serialises them by item id', () => {
    const knn = fitItemKnn(m, { shrink: 0, neighbours: 1 });
    expect(knnNeighbours(knn, 5)).toEqual([
      { item: 10, neighbour: 20, score: expect.closeTo(1, 12) },
      { item: 20, neighbour: 10, score: expect.closeTo(1, 12) },
      { item: 30, neighbour: 10, score: expect.closeTo(1 / Math.SQRT2, 12) },
    ]);
  });
});

describe('EASE', () => {
  // X (users × items 1, 2, 3) = [1 1 0; 1 0 0; 1 1 1; 0 0 1], λ = 1. B printed by numpy 2.4.6:
  //   P = inv(XᵀX + I); B = -P / diag(P); fill_diagonal(B, 0)
  const B = [
    [0, 0.45454545454545453, 0.125],
    [0.625, 0, 0.25],
    [0.125, 0.1818181818181818, 0],
  ];
  const train = trainData({ 1: { 1: 1, 2: 1 }, 2: { 1: 1 }, 3: { 1: 1, 2: 1, 3: 1 }, 4: { 3: 1 } });

  it('matches numpy’s closed form B = I − P·diag(1/diag(P)) on a 4×3 matrix', () => {
    const model = fitEase(buildInteractionMatrix(train, { precision: 64 }), { lambda: 1 });
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(model.weights[i * 3 + j]).toBeCloseTo(B[i]![j]!, 12);
  });

  it('gives the same B on numpy (LAPACK in its virtualenv) as in process, and says when Python is missing', async () => {
    const model = await trainEase(buildInteractionMatrix(train, { precision: 64 }), { lambda: 1, backend: 'numpy' });
    expect(model.options).toEqual({ lambda: 1, items: 3, backend: 'numpy' });
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(model.weights[i * 3 + j]).toBeCloseTo(B[i]![j]!, 6);
    // A bigger random matrix: numpy and ml-matrix agree entry by entry.
    const users: Record<number, Record<number, number>> = {};
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let u = 1; u <= 300; u++) {
      users[u] = {};
      for (let k = 0; k < 8; k++) users[u]![1 + Math.floor(next() ** 2 * 120)] = 1;
    }
    const m = buildInteractionMatrix(trainData(users), { precision: 64 });
    const [js, numpy] = [fitEase(m, { lambda: 20 }), await trainEase(m, { lambda: 20 })];
    expect(numpy.items).toEqual(js.items);
    let worst = 0;
    for (let q = 0; q < js.weights.length; q++) worst = Math.max(worst, Math.abs(js.weights[q]! - numpy.weights[q]!));
    expect(worst).toBeLessThan(1e-6);
    const missing = numpyPython({ cacheDir: mkdtempSync(join(tmpdir(), 'rtrec-nopy-')), python: '/nonexistent/python3' });
    await expect(missing).rejects.toThrow(/needs Python 3.11\+ with venv.*RTREC_PYTHON.*--ease-backend js/);
  }, 180_000);

  it('fills what the model scores 0 with the most popular items, not the lowest ids', async () => {
    // Item 9 is nobody else's, so user 5's scores are all 0: the list is popularity order (1 has 3 users, 2 and 3 two).
    const lonely = trainData({ 1: { 1: 1, 2: 1 }, 2: { 1: 1 }, 3: { 1: 1, 2: 1, 3: 1 }, 4: { 3: 1 }, 5: { 9: 1 } });
    const model = fitEase(buildInteractionMatrix(lonely, { precision: 64 }), { lambda: 1 });
    expect(await easeRecommender(model, lonely, 'train-items').recommend(5, 3, new Date())).toEqual([1, 2, 3]);
    // User 2 has item 1: the model's two positive items first, then the popular fill (9, the only one left).
    expect(await easeRecommender(model, lonely, 'train-items').recommend(2, 3, new Date())).toEqual([2, 3, 9]);
  });

  it('serves a user the row sums of B over their items, without their own items', async () => {
    const model = fitEase(buildInteractionMatrix(train, { precision: 64 }), { lambda: 1 });
    // User 2 has item 1: item 2 gains 0.4545, item 3 0.125.
    expect(await easeRecommender(model, train, 'train-items').recommend(2, 5, new Date())).toEqual([2, 3]);
    expect(easeNeighbours(model, 1)).toEqual([
      { item: 1, neighbour: 2, score: expect.closeTo(B[0]![1]!, 12) },
      { item: 2, neighbour: 1, score: expect.closeTo(B[1]![0]!, 12) },
      { item: 3, neighbour: 2, score: expect.closeTo(B[2]![1]!, 12) },
    ]);
  });

  it('refuses more items than it can invert with an error that says what to pass instead', () => {
    const users: Record<number, Record<number, number>> = {};
    for (let i = 0; i <= EASE_MAX_ITEMS; i++) users[i] = { [i]: 1 };
    const m = buildInteractionMatrix(trainData(users));
    const fit = () => fitEase(m, { items: EASE_MAX_ITEMS + 1 });
    expect(fit).toThrow(AppError);
    expect(fit).toThrow(/exceed its limit of 20000: pass a smaller `items`/);
  });
});

describe('implicit ALS', () => {
  // Two blocks: users 1–4 consume items 1–3, users 5–8 items 4–6; user 9 has items 1 and 2 only.
  const users: Record<number, Record<number, number>> = {};
  for (let u = 1; u <= 4; u++) users[u] = { 1: 1, 2: 1, 3: 1 };
  for (let u = 5; u <= 8; u++) users[u] = { 4: 1, 5: 1, 6: 1 };
  users[9] = { 1: 1, 2: 1 };
  const train = trainData(users);
  const m = buildInteractionMatrix(train, { precision: 64 });
  const options = { factors: 4, regularization: 0.1, alpha: 10, iterations: 10, seed: 7 };

  it('gives the same factors for the same seed and different ones for another seed', () => {
    const a = fitIals(m, options);
    expect(fitIals(m, options).users).toEqual(a.users);
    expect(fitIals(m, options).items).toEqual(a.items);
    expect(fitIals(m, { ...options, seed: 8 }).users).not.toEqual(a.users);
    expect(ialsFactors(a).items[0]).toEqual({ item: 1, vector: Array.from(a.items.subarray(0, 4)) });
  });

  it('ranks the item co-consumed with a user’s items first on a block-structured matrix', async () => {
    const list = await ialsRecommender(fitIals(m, options), train, 'train-items').recommend(9, 4, new Date());
    expect(list[0]).toBe(3);
  });
});

describe('top-k selection', () => {
  it('returns the best indexes first, ties to the lower index, skipping excluded ones', () => {
    expect(topK([0.5, 2, 0.5, 3, 1], 3, new Set([3]))).toEqual([1, 4, 0]);
    expect(topK([1, 1, 1], 5, new Set())).toEqual([0, 1, 2]);
  });
});
