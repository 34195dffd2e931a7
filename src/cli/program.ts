import { Command, Option } from 'commander';
import { GENERATE_DEFAULTS, GENERATE_LIMITS } from '../datagen/limits.js';
import { REPLAY_WRITERS } from '../importer/options.js';
import { MODEL_DEFAULTS } from '../recommend/models/defaults.js';
import { SIMULATED_RECOMMENDERS, SIMULATION_DEFAULTS, SIMULATION_LIMITS } from '../simulator/options.js';
import { version } from '../version.js';
import { duration, intIn, isoDate, nameList, numberIn, variantParams, variantSpec } from './options.js';

/**
 * An action whose module is loaded when the command runs, so `rtrec db url` loads the database code and not
 * the GraphQL schema, Kafka or Flink clients of the other commands.
 */
function lazy<M, K extends keyof M>(load: () => Promise<M>, name: K): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const action = (await load())[name] as (...a: unknown[]) => unknown;
    await action(...args);
  };
}

/** The whole command tree in one place; each action lives in its own module. */
export function createProgram(): Command {
  const program = new Command('rtrec')
    .description('Real-time customer-behaviour recommendation platform: shop database, simulator, GraphQL/REST API.')
    .version(version)
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false });

  const db = program.command('db').description('Manage the database (embedded PostgreSQL unless DATABASE_URL is set)');
  db.command('init')
    .description('Create the database and apply migrations (idempotent)')
    .action(lazy(() => import('./commands/db.js'), 'dbInit'));
  db.command('reset')
    .description('Drop all tables and data, then re-apply migrations')
    .option('--yes', 'confirm that all data may be deleted')
    .action(lazy(() => import('./commands/db.js'), 'dbReset'));
  db.command('start')
    .description('Start the embedded PostgreSQL server (stays up after the command)')
    .action(lazy(() => import('./commands/db.js'), 'dbStart'));
  db.command('stop')
    .description('Stop the embedded PostgreSQL server')
    .action(lazy(() => import('./commands/db.js'), 'dbStop'));
  db.command('status')
    .description('Show whether the database is running and where')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/db.js'), 'dbStatus'));
  db.command('url')
    .description('Print a connection string, e.g. psql "$(npx rtrec db url)" (the API role; --role owner for DDL)')
    .addOption(new Option('--role <role>', 'whose connection string').choices(['api', 'owner', 'cdc', 'flink', 'superuser']).default('api'))
    .action(lazy(() => import('./commands/db.js'), 'dbUrl'));

  program
    .command('generate')
    .description('Add categories, products and customers with realistic fake data (runs again add more)')
    .addOption(new Option('--categories <n>', 'categories to add').argParser(intIn(0, GENERATE_LIMITS.categories)).default(GENERATE_DEFAULTS.categories))
    .addOption(new Option('--products <n>', 'products to add').argParser(intIn(0, GENERATE_LIMITS.products)).default(GENERATE_DEFAULTS.products))
    .addOption(new Option('--customers <n>', 'customers to add').argParser(intIn(0, GENERATE_LIMITS.customers)).default(GENERATE_DEFAULTS.customers))
    .addOption(new Option('--seed <n>', 'random seed: the same seed on the same data gives the same rows').argParser(intIn(0, 2 ** 31)))
    .option('--clear', 'delete ALL shop data instead (catalogue, customers and activity)')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/generate.js'), 'generate'));

  program
    .command('simulate')
    .description('Simulate customers shopping (live sessions, or a historical back-fill)')
    .addOption(new Option('--sessions <n>', 'shopping sessions to run').argParser(intIn(1, SIMULATION_LIMITS.sessions)).default(SIMULATION_DEFAULTS.sessions))
    .addOption(
      new Option('--duration <minutes>', 'approximate length of each session')
        .argParser(numberIn(0, SIMULATION_LIMITS.durationMinutes))
        .default(SIMULATION_DEFAULTS.durationMinutes),
    )
    .addOption(
      new Option('--speed <x>', 'clock compression: 60 runs a 5-minute session in 5 s (1 = real time)')
        .argParser(numberIn(0.01, SIMULATION_LIMITS.speed))
        .default(SIMULATION_DEFAULTS.speed),
    )
    .addOption(
      new Option('--concurrency <n>', 'sessions running at the same time')
        .argParser(intIn(1, SIMULATION_LIMITS.concurrency))
        .default(SIMULATION_DEFAULTS.concurrency),
    )
    .addOption(new Option('--seed <n>', 'random seed (historical runs with the same seed, data and --until are identical)').argParser(intIn(0, 2 ** 31)))
    .addOption(
      new Option('--historical <days>', 'back-fill this many days of history instead of running live').argParser(intIn(1, SIMULATION_LIMITS.historicalDays)),
    )
    .addOption(
      new Option('--sessions-per-day <n>', 'average daily sessions for --historical')
        .argParser(intIn(1, SIMULATION_LIMITS.sessionsPerDay))
        .default(SIMULATION_DEFAULTS.sessionsPerDay),
    )
    .addOption(new Option('--until <iso-date>', 'end of the --historical window (default now)').argParser(isoDate))
    .addOption(
      new Option('--recommendations <n>', 'recommendations shown at the start of each live session; shoppers click what matches their tastes (0 = none)')
        .argParser(intIn(0, SIMULATION_LIMITS.recommendations))
        .default(SIMULATION_DEFAULTS.recommendations),
    )
    .addOption(
      new Option(
        '--recommender <name>',
        "what shows them: ours (the served recommendations), random (a baseline to compare uptake with) or experiment (each shopper's variant of the experiment running on home)",
      )
        .choices(SIMULATED_RECOMMENDERS)
        .default(SIMULATION_DEFAULTS.recommender),
    )
    .option('--clear', 'delete simulated activity (orders, carts, wishlists, payments, shipments, events) instead')
    .option('--json', 'print the summary as JSON')
    .action(lazy(() => import('./commands/simulate.js'), 'simulate'));

  program
    .command('evaluate')
    .description(
      'Offline evaluation on the history: HR, NDCG, recall and coverage of ours, most-popular, item-knn, ease, ials and random on one train/test split',
    )
    .addOption(
      new Option(
        '--source <source>',
        'shop (behaviour events + orders, imported logs included) or imported (logs loaded with rtrec import events --evaluation-only)',
      )
        .choices(['shop', 'imported'])
        .default('shop'),
    )
    .addOption(
      new Option(
        '--split <kind>',
        "time (one cutoff for all), leave-last-out (each user's last wishlist/cart/purchase) or session (each user's last action when it continues a visit and is new to them)",
      )
        .choices(['time', 'leave-last-out', 'session'])
        .default('time'),
    )
    .addOption(new Option('--cutoff <iso-date>', 'start of the test period of the time split (default: the last 20% of the time span)').argParser(isoDate))
    .addOption(
      new Option('--session-gap <minutes>', 'session split: longest gap between two actions of one visit (default 30)').argParser(numberIn(0.1, 7 * 24 * 60)),
    )
    .addOption(new Option('--k <n>', 'list length for HR, NDCG and coverage').argParser(intIn(1, 1000)).default(10))
    .addOption(new Option('--recall-k <n>', 'list length for recall').argParser(intIn(1, 1000)).default(20))
    .addOption(new Option('--seed <n>', 'seed of the random baseline and of --max-users sampling').argParser(intIn(0, 2 ** 31)).default(1))
    .addOption(new Option('--max-users <n>', 'evaluate a seeded sample of at most n test users').argParser(intIn(1, 10_000_000)))
    .addOption(new Option('--recommenders <names>', 'only these rows, comma-separated (e.g. ours,most-popular)').argParser(nameList))
    .addOption(new Option('--knn-shrink <n>', `item-knn: shrinkage of the cosine (default ${MODEL_DEFAULTS.knn.shrink})`).argParser(numberIn(0, 1e6)))
    .addOption(new Option('--knn-neighbours <n>', `item-knn: neighbours kept per item (default ${MODEL_DEFAULTS.knn.neighbours})`).argParser(intIn(1, 100_000)))
    .addOption(new Option('--ease-lambda <x>', `ease: L2 regularisation λ (default ${MODEL_DEFAULTS.ease.lambda})`).argParser(numberIn(0, 1e9)))
    .addOption(
      new Option(
        '--ease-items <n>',
        `ease: fit on the n most popular items (default ${MODEL_DEFAULTS.easeItems.numpy} with numpy, ${MODEL_DEFAULTS.easeItems.js} with js; at most ${MODEL_DEFAULTS.easeMaxItems}, cubic time)`,
      ).argParser(intIn(1, MODEL_DEFAULTS.easeMaxItems)),
    )
    .addOption(
      new Option('--ease-backend <name>', 'ease: where the inverse runs: numpy (LAPACK in a virtualenv made on first use) or js (in process, ~100× slower)')
        .choices(['numpy', 'js'])
        .default('numpy'),
    )
    .addOption(new Option('--ials-factors <n>', `ials: latent factors (default ${MODEL_DEFAULTS.ials.factors})`).argParser(intIn(1, 1024)))
    .addOption(new Option('--ials-iterations <n>', `ials: alternating passes (default ${MODEL_DEFAULTS.ials.iterations})`).argParser(intIn(1, 1000)))
    .addOption(new Option('--ials-alpha <x>', `ials: confidence 1 + alpha * r (default ${MODEL_DEFAULTS.ials.alpha})`).argParser(numberIn(0, 1e6)))
    .addOption(new Option('--ials-reg <x>', `ials: L2 regularisation (default ${MODEL_DEFAULTS.ials.regularization})`).argParser(numberIn(0, 1e6)))
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/evaluate.js'), 'evaluate'));
  program
    .command('train')
    .description(
      "Fit what serving learns from the shop's history: item-kNN and EASE neighbours (rec_model_neighbours) and the ranker's signal weights (rec_ranker), on a validation split before now",
    )
    .addOption(new Option('--max-customers <n>', 'validation customers at most (a deterministic sample)').argParser(intIn(10, 1_000_000)).default(3000))
    .addOption(
      new Option(
        '--protocol <kind>',
        "what the weights are fitted to predict: time (what customers take in the last fifth of the history, from features as of its start), leave-last-out (each customer's last wishlist/cart/purchase) or session (the next new item of a visit)",
      )
        .choices(['time', 'leave-last-out', 'session'])
        .default('time'),
    )
    .addOption(
      new Option('--session-gap <minutes>', '--protocol session: longest gap between two actions of one visit (default 30)').argParser(
        numberIn(0.1, 7 * 24 * 60),
      ),
    )
    .addOption(
      new Option(
        '--ease-backend <name>',
        "where the EASE neighbours' inverse runs: numpy (LAPACK in a virtualenv made on first use) or js (in process, fewer products)",
      )
        .choices(['numpy', 'js'])
        .default('numpy'),
    )
    .option('--dry-run', 'fit and report, store nothing')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/train.js'), 'train'));
  program
    .command('recommend')
    .description("Print a customer's recommendations with scores and reasons (what the GraphQL recommendations query serves)")
    .addOption(new Option('--customer <id>', 'customer id').argParser(intIn(1, 2_147_483_647)).makeOptionMandatory())
    .addOption(new Option('--first <n>', 'how many').argParser(intIn(1, 100)).default(10))
    .addOption(new Option('--category <id>', 'only products of this category').argParser(intIn(1, 2_147_483_647)))
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/recommend.js'), 'recommend'));

  const experiment = program
    .command('experiment')
    .description('Online experiments: serve each customer the variant (recommender configuration) their hash picks and compare the variants live');
  experiment
    .command('create')
    .description('Create a draft experiment; the first --variant is the control')
    .requiredOption('--name <name>', "1-100 letters, digits, spaces, '_', '.', ':' or '-'")
    .option('--placement <name>', 'where the lists are shown (default home: the recommendations query)')
    .requiredOption(
      '--variant <name:recommender[:weight]>',
      'a variant (repeat, 2 to 10): recommender ours, most-popular, trending, item-knn, ease or random; weight = share of traffic (default 1)',
      variantSpec,
    )
    .option('--params <variant=json>', 'ranker params of a variant (repeat), e.g. b=\'{"weights":{"affinity":8}}\'', variantParams)
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/experiment.js'), 'experimentCreate'));
  experiment
    .command('start')
    .description('Start a draft experiment (one running experiment per placement)')
    .argument('<id>', 'experiment id', intIn(1, 2_147_483_647))
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/experiment.js'), 'experimentStart'));
  experiment
    .command('stop')
    .description('Stop a running experiment (its results stay)')
    .argument('<id>', 'experiment id', intIn(1, 2_147_483_647))
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/experiment.js'), 'experimentStop'));
  experiment
    .command('show')
    .description('One experiment with its per-variant results and probability to beat the control, or all experiments')
    .argument('[id]', 'experiment id (all experiments when left out)', intIn(1, 2_147_483_647))
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/experiment.js'), 'experimentShow'));

  const rule = program
    .command('rule')
    .description('Merchandising rules applied to every served list after scoring: pin, boost, bury, filter (optionally from/until a time)');
  rule
    .command('create')
    .description(
      'Add a rule. pin: --product and --position. boost/bury: a selector and --factor (boost > 1, bury 0-1). filter: --product or --category. Selector flags combine (all must hold).',
    )
    .requiredOption('--name <name>', 'what the rule is for, 1-100 characters')
    .addOption(new Option('--action <action>', 'what it does').choices(['pin', 'boost', 'bury', 'filter']).makeOptionMandatory())
    .addOption(new Option('--product <id>', 'select this product (pin: the product to pin)').argParser(intIn(1, 2_147_483_647)))
    .addOption(new Option('--category <id>', 'select products of this category').argParser(intIn(1, 2_147_483_647)))
    .addOption(new Option('--min-price <amount>', 'select products at this price or above').argParser(numberIn(0, 99_999_999.99)))
    .addOption(new Option('--max-price <amount>', 'select products at this price or below').argParser(numberIn(0, 99_999_999.99)))
    .addOption(new Option('--min-stock <n>', 'select products with at least n in stock').argParser(intIn(0, 2_147_483_647)))
    .addOption(new Option('--max-stock <n>', 'select products with at most n in stock (clearance)').argParser(intIn(0, 2_147_483_647)))
    .addOption(new Option('--new-within-days <n>', 'select products added in the last n days ("new arrival")').argParser(intIn(1, 3650)))
    .addOption(new Option('--factor <x>', 'boost (> 1) or bury (0-1): multiplies the score').argParser(numberIn(0, 1000)))
    .addOption(new Option('--position <n>', 'pin: where the product goes (1 = first)').argParser(intIn(1, 100)))
    .addOption(new Option('--starts <iso-date>', 'in force from this time (default now)').argParser(isoDate))
    .addOption(new Option('--ends <iso-date>', 'in force until this time (default: no end)').argParser(isoDate))
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/rule.js'), 'ruleCreate'));
  rule
    .command('list')
    .description('Every rule, with whether it is in force now')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/rule.js'), 'ruleList'));
  rule
    .command('delete')
    .description('Delete a rule')
    .argument('<id>', 'rule id', intIn(1, 2_147_483_647))
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/rule.js'), 'ruleDelete'));

  program
    .command('import')
    .description('Load external data')
    .command('events')
    .description(
      'Import an interaction log (CSV with a header) as shop history: customers, products and categories for its keys, ' +
        'behaviour events, cart and wishlist lines and paid orders; rows imported before are skipped; all or nothing',
    )
    .requiredOption('--csv <file>', 'CSV file, comma-separated, with a header line')
    .requiredOption(
      '--map <mapping>',
      'columns: user=<col>,item=<col>,type=<col>,timestamp=<col>, optionally price, category, name, quantity, ' +
        "basket (lines with one basket form one order; without it, one user's purchases at one moment do) and session",
    )
    .option(
      '--types <mapping>',
      'event type values: view=view_product,addtocart=add_to_cart,transaction=purchase,other=skip (view_product, add_to_wishlist, add_to_cart, purchase and place_order are known)',
    )
    .option(
      '--source <name>',
      'name of the log: keys map to shop rows per source, and files of one source skip rows already imported (default: the file name without extension)',
    )
    .option('--replay', "write through the storefront, one transaction per action, at the log's own pace (Ctrl-C stops between actions)")
    .addOption(new Option('--speed <x>', 'with --replay: clock compression, 60 replays an hour in a minute (default 1)').argParser(numberIn(0.001, 1e12)))
    .addOption(
      new Option(
        '--writers <n>',
        `with --replay: storefront transactions in flight at once, one customer's actions always in order (default ${REPLAY_WRITERS.default})`,
      ).argParser(intIn(1, REPLAY_WRITERS.max)),
    )
    .addOption(
      new Option(
        '--batch-ms <ms>',
        'with --replay: write the actions due in each interval of this many ms in one bulk transaction instead of one storefront transaction per action (for speeds the storefront cannot keep up with, e.g. ×60 on a dense log)',
      ).argParser(intIn(1, 60_000)),
    )
    .option('--evaluation-only', 'load the log into imported_events only (for rtrec evaluate --source imported), not into the shop')
    .option('--replace', 'with --evaluation-only: delete earlier imported events first (same transaction)')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/import.js'), 'importEvents'));

  const cdc = program.command('cdc').description('Change data capture: the Debezium connector on Kafka Connect (CONNECT_URL, default :8083)');
  cdc
    .command('register')
    .description('Register (or update) the Debezium connector and wait until it streams')
    .argument('[file]', 'connector JSON (default connectors/postgresql-cdc.json)')
    .option('--no-wait', 'return without waiting for the RUNNING state')
    .action(lazy(() => import('./commands/cdc.js'), 'cdcRegister'));
  cdc
    .command('delete')
    .description('Delete a connector')
    .argument('<name>', 'connector name, e.g. shop-cdc')
    .option('--drop-slot', 'also drop its replication slot (otherwise PostgreSQL keeps WAL for it)')
    .action(lazy(() => import('./commands/cdc.js'), 'cdcDelete'));
  cdc
    .command('status')
    .description('Connector and task state, with the failure trace when failed')
    .argument('[name]', 'connector name (default: the one in connectors/postgresql-cdc.json)')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/cdc.js'), 'cdcStatus'));
  cdc
    .command('list')
    .description('All connectors and their state')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/cdc.js'), 'cdcList'));
  cdc
    .command('smoke')
    .description('Insert, update and delete a customer and show the three change events arriving on Kafka, with latency')
    .addOption(new Option('--timeout <seconds>', 'how long to wait for the events').argParser(intIn(1, 600)).default(30))
    .action(lazy(() => import('./commands/cdc.js'), 'cdcSmoke'));
  cdc
    .command('render')
    .description('Print the connector JSON with placeholders filled (for curl; contains the database password)')
    .argument('[file]', 'connector JSON')
    .action(lazy(() => import('./commands/cdc.js'), 'cdcRender'));

  const topic = program.command('topic').description('Kafka topics (KAFKA_BROKERS, default 127.0.0.1:9092)');
  topic
    .command('list')
    .description('Topics with partition and message counts')
    .option('--all', 'include internal topics')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/topic.js'), 'topicList'));
  topic
    .command('tail')
    .description('Print messages of a topic, pretty-printing Debezium envelopes')
    .requiredOption('--topic <topic>', 'topic name, e.g. shop.public.orders')
    .option('--from-beginning', 'start at the oldest message instead of now')
    .addOption(new Option('--limit <n>', 'stop after n messages').argParser(intIn(1, 10_000_000)))
    .option('--json', 'one JSON object per message')
    .action(lazy(() => import('./commands/topic.js'), 'topicTail'));

  const jobs = program
    .command('jobs')
    .description('Flink SQL jobs of flink/ (fraud detection, revenue statistics, top products) on the session cluster (FLINK_SQL_GATEWAY_URL, FLINK_REST_URL)');
  jobs
    .command('deploy')
    .description('Submit a job through the SQL gateway unless it is already running; a redeploy resumes from its last checkpoint')
    .argument('[name]', 'job name = file name in flink/ without .sql, e.g. fraud-detection')
    .option('--all', 'deploy every job in flink/')
    .option('--fresh', 'start from the beginning of the topics instead of the last checkpoint')
    .action(lazy(() => import('./commands/jobs.js'), 'jobsDeploy'));
  jobs
    .command('list')
    .description('State, uptime, records in/out and last checkpoint of each job')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/jobs.js'), 'jobsList'));
  jobs
    .command('cancel')
    .description('Cancel a running job (its last checkpoint is kept for the next deploy)')
    .argument('<name>', 'job name, e.g. fraud-detection')
    .action(lazy(() => import('./commands/jobs.js'), 'jobsCancel'));
  jobs
    .command('render')
    .description('Print the statements of a job with placeholders filled (contains the database password)')
    .argument('<name>', 'job name')
    .action(lazy(() => import('./commands/jobs.js'), 'jobsRender'));

  const stack = program
    .command('stack')
    .description(
      'Run the local engines: PostgreSQL, Kafka (KRaft), Kafka Connect with Debezium and a Flink session cluster with its SQL gateway (unless DATABASE_URL, KAFKA_BROKERS, CONNECT_URL, FLINK_REST_URL, FLINK_SQL_GATEWAY_URL are set)',
    );
  stack
    .command('up')
    .description('Fetch the engines once (Maven Central, user cache), then start what is not running (idempotent)')
    .argument(
      '[engines...]',
      'only these engines and what they depend on (postgres, kafka, connect, flink-jobmanager, flink-taskmanager, flink-sql-gateway); all by default',
    )
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/stack.js'), 'stackUp'));
  stack
    .command('down')
    .description('Stop every engine the stack started and check that none is left')
    .action(lazy(() => import('./commands/stack.js'), 'stackDown'));
  stack
    .command('status')
    .description("Show each engine's health, pid and ports")
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./commands/stack.js'), 'stackStatus'));
  stack
    .command('logs')
    .description('Print the end of an engine log')
    .argument('<engine>', 'postgres, kafka, connect, flink-jobmanager, flink-taskmanager or flink-sql-gateway')
    .addOption(new Option('--lines <n>', 'lines to print').argParser(intIn(0, 100_000)).default(50))
    .option('--follow', 'keep printing new lines until Ctrl-C')
    .action(lazy(() => import('./commands/stack.js'), 'stackLogs'));

  program
    .command('token')
    .description('Mint a bearer token for the API (signed with AUTH_SECRET or the secret file under the data folder, which the server uses too)')
    .addOption(
      new Option('--role <role>', 'what the token may do (see README: who may do what)')
        .choices(['admin', 'service', 'analyst', 'customer'])
        .makeOptionMandatory(),
    )
    .addOption(new Option('--customer <id>', 'with --role customer: the customer the token acts for').argParser(intIn(1, 2_147_483_647)))
    .addOption(new Option('--ttl <duration>', 'lifetime: 90s, 15m, 1h, 7d (at most 30d)').argParser(duration(30 * 86400)).default(3600, '1h'))
    .option('--json', 'print {"token","role","customerId","expiresAt"}')
    .action(lazy(() => import('./commands/token.js'), 'token'));

  program
    .command('serve')
    .description('Serve GraphQL (with GraphiQL) at /graphql and the REST API at /')
    .addOption(new Option('--port <n>', 'port (default PORT or 4000; 0 = any free port)').argParser(intIn(0, 65535)))
    .option('--host <host>', 'interface to bind (default HOST or 127.0.0.1)')
    .option('--no-cdc', 'do not bridge Kafka CDC topics into GraphQL subscriptions')
    .action(lazy(() => import('./commands/serve.js'), 'serve'));

  program
    .command('demo')
    .description('Quick-start demo: database, data, API and a background simulation')
    .addOption(new Option('--port <n>', 'port (default PORT or 4000; 0 = any free port)').argParser(intIn(0, 65535)))
    .option('--host <host>', 'interface to bind (default HOST or 127.0.0.1)')
    .option('--no-simulate', 'do not start the background simulation')
    .option('--no-cdc', 'do not bridge Kafka CDC topics into GraphQL subscriptions')
    .addOption(new Option('--sessions <n>', 'sessions per background simulation round').argParser(intIn(1, 10_000)).default(50))
    .addOption(new Option('--speed <x>', 'clock compression of the background simulation').argParser(numberIn(0.01, 10_000)).default(30))
    .addOption(
      new Option('--recommendations <n>', 'recommendations shown at the start of each simulated session (0 = none)')
        .argParser(intIn(0, SIMULATION_LIMITS.recommendations))
        .default(SIMULATION_DEFAULTS.recommendations),
    )
    .addOption(new Option('--recommender <name>', 'ours or random (baseline)').choices(SIMULATED_RECOMMENDERS).default(SIMULATION_DEFAULTS.recommender))
    .addOption(new Option('--train-every <minutes>', 'run `rtrec train` in the background this often (0 = never)').argParser(numberIn(0, 24 * 60)).default(10))
    .action(lazy(() => import('./commands/serve.js'), 'demo'));

  return program;
}
