import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE_DESIGN } from '../../adapters/dynamodb/keys.js';

export interface StoreTableProps {
  /**
   * What happens to the table (and every campaign, case and audit event in it) when the stack goes.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The single table of the DynamoDB store, built from the adapter's own TABLE_DESIGN so the two cannot drift. */
export class StoreTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: StoreTableProps = {}) {
    super(scope, id);
    const attribute = (key: { name: string; type: string }) => {
      if (key.type !== 'S') throw new Error(`TABLE_DESIGN key ${key.name} has type ${key.type}; only S is mapped`);
      return { name: key.name, type: AttributeType.STRING };
    };
    this.table = new Table(this, 'Table', {
      partitionKey: attribute(TABLE_DESIGN.partitionKey),
      sortKey: attribute(TABLE_DESIGN.sortKey),
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE_DESIGN.timeToLiveAttribute,
      // the audit trail lives here: a bad deploy or a bad script must be recoverable to the second
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    for (const index of TABLE_DESIGN.globalSecondaryIndexes) {
      if (index.projection !== 'ALL') throw new Error(`TABLE_DESIGN index ${index.indexName}: only ALL projections are mapped`);
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: attribute(index.sortKey),
        projectionType: ProjectionType.ALL,
      });
    }
  }
}
