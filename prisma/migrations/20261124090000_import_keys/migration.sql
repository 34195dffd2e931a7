-- Shop import of interaction logs (rtrec import events): which shop row each key of a log became, and which
-- rows of each log were written, so importing a file again (or an overlapping one) adds only the new rows.

-- CreateTable
CREATE TABLE "import_keys" (
    "source" VARCHAR(40) NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "key" VARCHAR(240) NOT NULL,
    "id" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "import_keys_pkey" PRIMARY KEY ("source","kind","key")
);

-- CreateTable
CREATE TABLE "import_rows" (
    "source" VARCHAR(40) NOT NULL,
    "fingerprint" UUID NOT NULL,

    CONSTRAINT "import_rows_pkey" PRIMARY KEY ("source","fingerprint")
);
