// A hand-written Apollo Server 4 over the sandbox's REST API with @apollo/datasource-rest: `order(id)` only.
// What a team writes by hand for one query: a RESTDataSource per request (per-request GET dedup), the
// caller's Authorization forwarded, snake_case fields renamed by resolvers. Run by run.py with PORT and
// SANDBOX_URL set.
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { RESTDataSource } from '@apollo/datasource-rest';

const sandbox = process.env.SANDBOX_URL;
const port = Number(process.env.PORT);

class OffsetsAPI extends RESTDataSource {
  constructor(options) {
    super(options);
    this.baseURL = `${sandbox}/v1/`;
    this.authorization = options.authorization;
  }

  willSendRequest(_path, request) {
    if (this.authorization) request.headers.authorization = this.authorization;
  }

  getOrder(id) {
    return this.get(`orders/${encodeURIComponent(id)}`);
  }
}

const typeDefs = `#graphql
  type Order {
    id: ID!
    orderNumber: String!
    createdOn: String!
    amountKg: Float!
    priceUsdCents: Int!
    state: String!
    subaccountId: String
    certificatePublicUrl: String
  }
  type Query {
    order(id: ID!): Order
  }
`;

const resolvers = {
  Query: {
    order: (_root, { id }, { dataSources }) => dataSources.offsets.getOrder(id),
  },
  Order: {
    orderNumber: (order) => order.order_number,
    createdOn: (order) => order.created_on,
    amountKg: (order) => order.amount_kg,
    priceUsdCents: (order) => order.price_usd_cents,
    subaccountId: (order) => order.subaccount_id,
    certificatePublicUrl: (order) => order.certificate_public_url,
  },
};

const server = new ApolloServer({ typeDefs, resolvers });
const { url } = await startStandaloneServer(server, {
  listen: { port, host: '127.0.0.1' },
  context: async ({ req }) => {
    const { cache } = server;
    return { dataSources: { offsets: new OffsetsAPI({ cache, authorization: req.headers.authorization }) } };
  },
});
console.log(`apollo listening on ${url}`);
